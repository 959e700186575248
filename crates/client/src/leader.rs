//! Leader election through a `coordination.k8s.io/v1` Lease, as upstream's components do it, so
//! that several schedulers (or controller managers) can run with one active.
//!
//! A candidate takes the Lease when nobody holds it or when its holder has not renewed it for
//! `leaseDurationSeconds` — judged by when *this* candidate last saw the record change, not by
//! the timestamps in it, so that clocks need not agree. Every write is a replace conditioned on
//! the `resourceVersion` read, so two candidates never both win. The leader renews every retry
//! period; when it cannot for `renew_deadline`, it stops leading (its caller must stop
//! working). On shutdown the leader hands the Lease back so that a successor need not wait.

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The timings, with upstream's defaults (15 s, 10 s, 2 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a Lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up.
    pub renew_deadline: Duration,
    /// How often candidates try, and the leader renews.
    pub retry_period: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// One candidate for one Lease.
#[derive(Debug)]
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: Timing,
    /// The spec last seen and when it was first seen so.
    observed: Option<(Value, Instant)>,
    leading: bool,
}

/// A unique identity for this process: the host name and a random suffix, as upstream's.
pub fn default_identity() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{host}_{:016x}", hasher.finish())
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)
}

impl Elector {
    /// A candidate named `identity` for the Lease `namespace/name`.
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        timing: Timing,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            timing,
            observed: None,
            leading: false,
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Whether this candidate led at its last attempt.
    pub fn is_leading(&self) -> bool {
        self.leading
    }

    fn spec(&self, acquire_time: &Value, transitions: i64) -> Value {
        json!({
            "holderIdentity": self.identity,
            "leaseDurationSeconds": seconds(self.timing.lease_duration),
            "acquireTime": acquire_time,
            "renewTime": gantry_api::time::now_micro(),
            "leaseTransitions": transitions,
        })
    }

    /// One attempt to take or renew the Lease; whether this candidate holds it afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        self.leading = self.attempt().await?;
        Ok(self.leading)
    }

    async fn attempt(&mut self) -> Result<bool, kube::Error> {
        let Some(lease) = self.api.get_opt(&self.name).await? else {
            let spec = self.spec(&json!(gantry_api::time::now_micro()), 0);
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {"name": self.name},
                "spec": spec,
            }))
            .map_err(kube::Error::SerdeError)?;
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.observed = Some((spec, Instant::now()));
                    Ok(true)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let record = serde_json::to_value(&lease.spec).map_err(kube::Error::SerdeError)?;
        let now = Instant::now();
        let seen_at = match &self.observed {
            Some((seen, at)) if *seen == record => *at,
            _ => {
                self.observed = Some((record.clone(), now));
                now
            }
        };
        let holder = record["holderIdentity"].as_str().unwrap_or_default();
        let duration = record["leaseDurationSeconds"]
            .as_u64()
            .map_or(self.timing.lease_duration, Duration::from_secs);
        let ours = holder == self.identity;
        if !holder.is_empty() && !ours && now.duration_since(seen_at) < duration {
            return Ok(false);
        }
        let transitions = record["leaseTransitions"].as_i64().unwrap_or(0);
        let (acquired, transitions) = if ours {
            (record["acquireTime"].clone(), transitions)
        } else {
            (json!(gantry_api::time::now_micro()), transitions + 1)
        };
        let spec = self.spec(&acquired, transitions);
        let mut updated = serde_json::to_value(&lease).map_err(kube::Error::SerdeError)?;
        updated["spec"] = spec.clone();
        let updated: Lease = serde_json::from_value(updated).map_err(kube::Error::SerdeError)?;
        match self
            .api
            .replace(&self.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {
                self.observed = Some((spec, Instant::now()));
                Ok(true)
            }
            // Someone else wrote first: they lead, or will tell us at the next attempt.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this candidate leads.
    pub async fn acquire(&mut self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "became leader");
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!(lease = %self.name, error = %e, "could not reach the lease")
                }
            }
            tokio::time::sleep(self.timing.retry_period).await;
        }
    }

    /// Renews while it can; returns when leadership is lost (not renewed within the renew
    /// deadline, or taken by another).
    pub async fn keep(&mut self) {
        loop {
            tokio::time::sleep(self.timing.retry_period).await;
            let deadline = Instant::now() + self.timing.renew_deadline;
            loop {
                match self.try_acquire_or_renew().await {
                    Ok(true) => break,
                    Ok(false) => {
                        tracing::warn!(lease = %self.name, "another candidate holds the lease");
                        return;
                    }
                    Err(e) => tracing::warn!(lease = %self.name, error = %e, "renewing failed"),
                }
                if Instant::now() >= deadline {
                    tracing::error!(lease = %self.name, "leadership lost: not renewed in time");
                    self.leading = false;
                    return;
                }
                tokio::time::sleep(self.timing.retry_period.min(Duration::from_millis(500))).await;
            }
        }
    }

    /// Hands the Lease back if this candidate holds it, so that another takes over at once.
    pub async fn release(&mut self) {
        if !self.leading {
            return;
        }
        self.leading = false;
        let Ok(Some(lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let held = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.identity.as_str());
        if !held {
            return;
        }
        let Ok(mut released) = serde_json::to_value(&lease) else {
            return;
        };
        released["spec"]["holderIdentity"] = Value::Null;
        released["spec"]["leaseDurationSeconds"] = json!(1);
        released["spec"]["renewTime"] = json!(gantry_api::time::now_micro());
        let Ok(released) = serde_json::from_value::<Lease>(released) else {
            return;
        };
        if let Err(e) = self
            .api
            .replace(&self.name, &PostParams::default(), &released)
            .await
        {
            tracing::debug!(lease = %self.name, error = %e, "could not release the lease");
        }
    }
}
