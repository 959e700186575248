//! Liveness, readiness and startup probes (exec, httpGet, tcpSocket, grpc), run by the pod's worker
//! on upstream's schedule: after `initialDelaySeconds`, every `periodSeconds`, each attempt
//! bounded by `timeoutSeconds`; a result flips after `successThreshold` successes or
//! `failureThreshold` failures in a row. Readiness drives the container's `ready`; startup
//! gates the other two and `started`; a liveness or startup failure restarts the container.

use crate::pods::PodContext;
use crate::pods::runtime_state::Instance;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
    /// `startupProbe`.
    Startup,
}

impl Kind {
    /// The word upstream's events use.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
            Kind::Startup => "Startup",
        }
    }

    fn of(self, container: &Container) -> Option<&Probe> {
        match self {
            Kind::Liveness => container.liveness_probe.as_ref(),
            Kind::Readiness => container.readiness_probe.as_ref(),
            Kind::Startup => container.startup_probe.as_ref(),
        }
    }
}

/// One probe's running tally for one container instance.
#[derive(Debug, Clone)]
struct Tally {
    instance: String,
    last: Option<Instant>,
    successes: i32,
    failures: i32,
    /// The current result: `None` until the first threshold is crossed.
    result: Option<bool>,
}

/// What the worker should do after a round of probes.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Containers to restart (liveness or startup failed), with the probe kind.
    pub restart: Vec<(String, Kind)>,
    /// The soonest another probe is due.
    pub next: Option<Duration>,
}

/// Every probe tally of one pod.
#[derive(Debug, Default)]
pub struct Probes {
    tallies: HashMap<(String, Kind), Tally>,
}

fn seconds(value: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(value.unwrap_or(default).max(0)).unwrap_or(0))
}

/// How long the instance has been running.
fn running_for(instance: &Instance) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    Duration::from_nanos(u64::try_from(now - instance.started_at).unwrap_or(0))
}

impl Probes {
    /// The readiness of `container` as its probes say (no readiness probe: ready).
    pub fn ready(&self, container: &Container, instance: &str) -> bool {
        if !self.started(container, instance) {
            return false;
        }
        match &container.readiness_probe {
            None => true,
            Some(_) => self.result(&container.name, Kind::Readiness, instance) == Some(true),
        }
    }

    /// Whether the startup probe (if any) has succeeded.
    pub fn started(&self, container: &Container, instance: &str) -> bool {
        container.startup_probe.is_none()
            || self.result(&container.name, Kind::Startup, instance) == Some(true)
    }

    fn result(&self, name: &str, kind: Kind, instance: &str) -> Option<bool> {
        self.tallies
            .get(&(name.to_owned(), kind))
            .filter(|t| t.instance == instance)
            .and_then(|t| t.result)
    }

    /// Runs the probes that are due for the running `instances` of `pod`'s containers.
    pub async fn run(
        &mut self,
        ctx: &PodContext,
        pod: &Pod,
        pod_ip: &str,
        instances: &[(&Container, &Instance)],
    ) -> Verdict {
        let mut verdict = Verdict::default();
        for (container, instance) in instances {
            for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                let Some(probe) = kind.of(container) else {
                    continue;
                };
                if kind != Kind::Startup && !self.started(container, &instance.id) {
                    continue;
                }
                let key = (container.name.clone(), kind);
                let tally = self.tallies.entry(key).or_insert_with(|| Tally {
                    instance: instance.id.clone(),
                    last: None,
                    successes: 0,
                    failures: 0,
                    result: None,
                });
                if tally.instance != instance.id {
                    *tally = Tally {
                        instance: instance.id.clone(),
                        last: None,
                        successes: 0,
                        failures: 0,
                        result: None,
                    };
                }
                let period = seconds(probe.period_seconds, 10).max(Duration::from_secs(1));
                let delay = seconds(probe.initial_delay_seconds, 0);
                let up = running_for(instance);
                let due_in = match tally.last {
                    None => delay.saturating_sub(up),
                    Some(last) => period.saturating_sub(last.elapsed()),
                };
                if !due_in.is_zero() {
                    verdict.next = Some(verdict.next.map_or(due_in, |n| n.min(due_in)));
                    continue;
                }
                tally.last = Some(Instant::now());
                verdict.next = Some(verdict.next.map_or(period, |n| n.min(period)));
                let outcome = attempt(ctx, probe, container, &instance.id, pod_ip).await;
                let success_threshold = if kind == Kind::Readiness {
                    probe.success_threshold.unwrap_or(1)
                } else {
                    1
                };
                let failure_threshold = probe.failure_threshold.unwrap_or(3);
                match outcome {
                    Ok(()) => {
                        tally.failures = 0;
                        tally.successes += 1;
                        if tally.successes >= success_threshold {
                            tally.result = Some(true);
                        }
                    }
                    Err(message) => {
                        tally.successes = 0;
                        tally.failures += 1;
                        ctx.recorder.warning(
                            pod,
                            Some(crate::pods::events::container_path(pod, &container.name)),
                            "Unhealthy",
                            format!("{} probe failed: {message}", kind.word()),
                        );
                        if tally.failures >= failure_threshold {
                            tally.result = Some(false);
                            if kind != Kind::Readiness {
                                verdict.restart.push((container.name.clone(), kind));
                                tally.failures = 0;
                            }
                        }
                    }
                }
            }
        }
        verdict
    }
}

/// One probe attempt; the error is upstream's failure output.
async fn attempt(
    ctx: &PodContext,
    probe: &Probe,
    container: &Container,
    instance: &str,
    pod_ip: &str,
) -> Result<(), String> {
    let timeout = seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1));
    if let Some(exec) = &probe.exec {
        let reply = ctx
            .cri
            .runtime
            .clone()
            .exec_sync(cri::ExecSyncRequest {
                container_id: instance.to_owned(),
                cmd: exec.command.clone().unwrap_or_default(),
                timeout: i64::try_from(timeout.as_secs()).unwrap_or(1),
            })
            .await
            .map_err(|e| e.message().to_owned())?
            .into_inner();
        if reply.exit_code == 0 {
            return Ok(());
        }
        let mut output = String::from_utf8_lossy(&reply.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&reply.stderr));
        return Err(output);
    }
    if let Some(http) = &probe.http_get {
        let host = http
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| pod_ip.to_owned());
        let port = port_number(&http.port, container)?;
        let path = http.path.clone().unwrap_or_else(|| "/".to_owned());
        if http.scheme.as_deref() == Some("HTTPS") {
            return Err("HTTPS probes are not supported by this node yet".to_owned());
        }
        let headers: Vec<(String, String)> = http
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let url = format!("http://{host}:{port}{path}");
        return match tokio::time::timeout(timeout, http_status(&host, port, &path, &headers)).await
        {
            Err(_) => Err(format!(
                "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )),
            Ok(Err(e)) => Err(format!(
                "Get \"{url}\": dial tcp {host}:{port}: connect: {e}"
            )),
            Ok(Ok(code)) if (200..400).contains(&code) => Ok(()),
            Ok(Ok(code)) => Err(format!("HTTP probe failed with statuscode: {code}")),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let host = tcp
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| pod_ip.to_owned());
        let port = port_number(&tcp.port, container)?;
        return match tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: connect: {e}")),
            Err(_) => Err(format!("dial tcp {host}:{port}: i/o timeout")),
        };
    }
    if let Some(grpc) = &probe.grpc {
        let port =
            u16::try_from(grpc.port).map_err(|_| format!("invalid port number: {}", grpc.port))?;
        let service = grpc.service.clone().unwrap_or_default();
        return crate::pods::grpc_probe::check(pod_ip, port, &service, timeout).await;
    }
    Ok(())
}

/// A probe's port: a number, or the name of one of the container's ports.
pub(crate) fn port_number(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port number: {n}")),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("couldn't find port: {name} in {}", container.name)),
    }
}

/// A bare HTTP/1.0 GET; returns the status code.
pub(crate) async fn http_status(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
    let mut request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 64];
    let n = stream.read(&mut head).await?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("malformed HTTP response"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_ports_resolve_through_the_container() {
        let container: Container = serde_json::from_value(json!({
            "name": "c", "ports": [{"name": "http", "containerPort": 8080}]
        }))
        .unwrap();
        assert_eq!(
            port_number(&IntOrString::String("http".into()), &container),
            Ok(8080)
        );
        assert_eq!(port_number(&IntOrString::Int(80), &container), Ok(80));
        assert!(port_number(&IntOrString::String("none".into()), &container).is_err());
    }

    #[tokio::test]
    async fn http_status_reads_the_code() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 256];
            let _ = socket.read(&mut buffer).await;
            socket
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
                .await
                .unwrap();
        });
        assert_eq!(http_status("127.0.0.1", port, "/", &[]).await.unwrap(), 503);
    }
}
