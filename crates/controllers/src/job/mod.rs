//! The Job controller: runs pods until `completions` succeed (`parallelism` at a time; without
//! `completions`, until one succeeds and the rest finish), one pod per index for `Indexed`
//! Jobs (`JOB_COMPLETION_INDEX`, `<job>-<index>` hostnames, `completedIndexes`), replacing
//! failed pods after upstream's back-off until `backoffLimit` (`BackoffLimitExceeded`) or
//! `activeDeadlineSeconds` (`DeadlineExceeded`) ends it, or a `podFailurePolicy` rule decides;
//! `suspend` stops its pods. Finished Jobs get upstream's conditions (`SuccessCriteriaMet` then
//! `Complete`; `FailureTarget` then `Failed`) and events.
//!
//! Counting: terminated pods are counted from the cache and the counters never go down
//! (upstream also holds a `batch.kubernetes.io/job-tracking` finalizer on pods so that a pod
//! deleted before it was counted still counts — not yet here).

pub mod policy;
pub mod ttl;

use crate::Context;
use crate::expectations::Expectations;
use crate::informer::{key_of, split_key};
use crate::pods;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::selector::LabelSelector;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// The annotation (and label) that gives an Indexed Job's pod its index.
pub const INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// The controller.
#[derive(Debug)]
pub struct JobController {
    ctx: Context,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
    expectations: Arc<Expectations>,
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn index_of(pod: &Pod) -> Option<i32> {
    pod.metadata.annotations.as_ref()?.get(INDEX)?.parse().ok()
}

/// Whether the Job has finished (a `Complete` or `Failed` condition that is `True`).
pub fn finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        })
}

fn condition(type_: &str, reason: &str, message: &str) -> Value {
    let now = gantry_api::time::now_rfc3339();
    json!({"type": type_, "status": "True", "reason": reason, "message": message,
        "lastProbeTime": now, "lastTransitionTime": now})
}

impl JobController {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        let expectations = Arc::new(Expectations::default());
        {
            let (queue, expectations) = (Arc::clone(&queue), Arc::clone(&expectations));
            ctx.jobs.on(move |old, new| match (old, new) {
                (_, Some(job)) => queue.add(key_of(job)),
                (Some(job), None) => expectations.forget(&key_of(job)),
                (None, None) => {}
            });
        }
        {
            let (queue, expectations) = (Arc::clone(&queue), Arc::clone(&expectations));
            let jobs = Arc::clone(&ctx.jobs);
            ctx.pods.on(move |old, new| {
                crate::expectations::observe_child(&jobs, &queue, &expectations, old, new);
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            recorder: ctx.recorder("job-controller"),
            queue,
            expectations,
        })
    }

    async fn create_pod(&self, key: &str, job: &Job, index: Option<i32>) -> anyhow::Result<()> {
        let spec = job.spec.clone().unwrap_or_default();
        let mut template = spec.template.clone();
        let name = job.metadata.name.clone().unwrap_or_default();
        let mut prefix = format!("{name}-");
        if let Some(i) = index {
            prefix = format!("{name}-{i}-");
            let meta = template.metadata.get_or_insert_with(Default::default);
            meta.annotations
                .get_or_insert_with(Default::default)
                .insert(INDEX.to_owned(), i.to_string());
            meta.labels
                .get_or_insert_with(Default::default)
                .insert(INDEX.to_owned(), i.to_string());
            if let Some(pod_spec) = template.spec.as_mut() {
                pod_spec
                    .hostname
                    .get_or_insert_with(|| format!("{name}-{i}"));
                for container in pod_spec
                    .containers
                    .iter_mut()
                    .chain(pod_spec.init_containers.iter_mut().flatten())
                {
                    let env = container.env.get_or_insert_with(Vec::new);
                    if !env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX") {
                        env.push(serde_json::from_value(json!({"name": "JOB_COMPLETION_INDEX",
                            "valueFrom": {"fieldRef": {"fieldPath": format!("metadata.annotations['{INDEX}']")}}}))?);
                    }
                }
            }
        }
        let pod: Pod = serde_json::from_value(pods::from_template(
            &template,
            &prefix,
            pods::controller_ref(job),
        ))?;
        let api: Api<Pod> = Api::namespaced(
            self.ctx.client.clone(),
            job.metadata.namespace.as_deref().unwrap_or_default(),
        );
        match api.create(&PostParams::default(), &pod).await {
            Ok(created) => {
                let created = created.metadata.name.unwrap_or_default();
                self.recorder.normal(
                    job,
                    None,
                    "SuccessfulCreate",
                    format!("Created pod: {created}"),
                );
                Ok(())
            }
            Err(e) => {
                self.expectations.creation_observed(key);
                self.recorder.warning(
                    job,
                    None,
                    "FailedCreate",
                    format!("Error creating: {}", crate::api_message(&e)),
                );
                Err(e.into())
            }
        }
    }

    async fn delete_pods(&self, key: &str, job: &Job, victims: &[Arc<Pod>]) -> anyhow::Result<()> {
        if victims.is_empty() {
            return Ok(());
        }
        self.expectations
            .expect_deletions(key, victims.iter().filter_map(|p| p.metadata.uid.clone()));
        let api: Api<Pod> = Api::namespaced(
            self.ctx.client.clone(),
            job.metadata.namespace.as_deref().unwrap_or_default(),
        );
        for pod in victims {
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            match api.delete(name, &DeleteParams::background()).await {
                Ok(_) => self.recorder.normal(
                    job,
                    None,
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                ),
                Err(e) => {
                    self.expectations
                        .deletion_observed(key, pod.metadata.uid.as_deref().unwrap_or_default());
                    if !crate::is_not_found(&e) {
                        return Err(e.into());
                    }
                }
            }
        }
        Ok(())
    }

    async fn write_status(&self, job: &Job, status: Value) -> anyhow::Result<()> {
        let current = serde_json::to_value(job.status.clone().unwrap_or_default())?;
        let changed = status.as_object().into_iter().flatten().any(|(k, v)| {
            let before = current.get(k).unwrap_or(&Value::Null);
            // `null` asks for a field's removal: a change only if it is there.
            if v.is_null() {
                !before.is_null()
            } else {
                before != v
            }
        });
        if !changed {
            return Ok(());
        }
        let api: Api<Job> = Api::namespaced(
            self.ctx.client.clone(),
            job.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = job.metadata.name.as_deref().unwrap_or_default();
        match api
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Reconcile for JobController {
    fn name(&self) -> &'static str {
        "job-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(job) = self.ctx.jobs.get(&key) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        if finished(&job) || job.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let (namespace, _) = split_key(&key);
        let spec = job.spec.clone().unwrap_or_default();
        let json = serde_json::to_value(&spec.selector)?;
        let Ok(selector) = LabelSelector::from_label_selector_json(&json) else {
            return Ok(None);
        };
        if selector.is_nothing() || selector.is_everything() {
            return Ok(None);
        }
        let candidates = self.ctx.pods.list_namespace(namespace);
        let owned = crate::claim::claim(&self.ctx.client, &*job, &selector, candidates).await?;
        let status = job.status.clone().unwrap_or_default();
        let now = k8s_openapi::jiff::Timestamp::now();
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        let completions = spec.completions;
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        let active: Vec<Arc<Pod>> = owned
            .iter()
            .filter(|p| pods::is_active(p))
            .cloned()
            .collect();
        let succeeded_pods: Vec<&Arc<Pod>> =
            owned.iter().filter(|p| phase(p) == "Succeeded").collect();
        let failed_pods: Vec<&Arc<Pod>> = owned.iter().filter(|p| phase(p) == "Failed").collect();
        let mut fail: Option<(&str, String)> = None;
        let mut counted_failures = 0;
        for pod in &failed_pods {
            match policy::judge(spec.pod_failure_policy.as_ref(), pod) {
                policy::Verdict::FailJob(message) => {
                    fail = fail.or(Some(("PodFailurePolicy", message)))
                }
                policy::Verdict::Ignore => {}
                policy::Verdict::Count => counted_failures += 1,
            }
        }
        // With `OnFailure`, containers restart in place: their restarts are the failures.
        let on_failure = spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            == Some("OnFailure");
        let restarts: i32 = if on_failure {
            active
                .iter()
                .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
                .flatten()
                .map(|c| c.restart_count)
                .sum()
        } else {
            0
        };
        let succeeded = status
            .succeeded
            .unwrap_or(0)
            .max(i32::try_from(succeeded_pods.len()).unwrap_or(0));
        let failed = status.failed.unwrap_or(0).max(counted_failures);
        let mut completed =
            policy::parse_indexes(status.completed_indexes.as_deref().unwrap_or(""));
        if indexed {
            completed.extend(
                succeeded_pods
                    .iter()
                    .filter_map(|p| index_of(p))
                    .filter(|i| completions.is_none_or(|c| *i < c)),
            );
        }
        let start = status.start_time.as_ref().map(|t| t.0).unwrap_or(now);
        if fail.is_none() && failed + restarts > backoff_limit {
            fail = Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit".to_owned(),
            ));
        }
        if fail.is_none()
            && let Some(deadline) = spec.active_deadline_seconds
            && now.as_second() - start.as_second() >= deadline
        {
            fail = Some((
                "DeadlineExceeded",
                "Job was active longer than specified deadline".to_owned(),
            ));
        }
        let complete = match (indexed, completions) {
            (true, Some(c)) => (0..c).all(|i| completed.contains(&i)),
            (false, Some(c)) => succeeded >= c,
            (_, None) => succeeded > 0 && active.is_empty(),
        };
        let mut conditions: Vec<Value> = status
            .conditions
            .iter()
            .flatten()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect();
        let suspended = spec.suspend.unwrap_or(false);
        let mut again = None;
        let mut completion_time = Value::Null;
        let mut active_count = active.len();
        if let Some((reason, message)) = &fail {
            self.delete_pods(&key, &job, &active).await?;
            active_count = 0;
            conditions.push(condition("FailureTarget", reason, message));
            conditions.push(condition("Failed", reason, message));
            self.recorder.warning(&*job, None, reason, message.clone());
        } else if complete {
            self.delete_pods(&key, &job, &active).await?;
            active_count = 0;
            let message = "Reached expected number of succeeded pods";
            conditions.push(condition(
                "SuccessCriteriaMet",
                "CompletionsReached",
                message,
            ));
            conditions.push(condition("Complete", "CompletionsReached", message));
            completion_time = json!(gantry_api::time::now_rfc3339());
            self.recorder
                .normal(&*job, None, "Completed", "Job completed".to_owned());
        } else if suspended {
            self.delete_pods(&key, &job, &active).await?;
            active_count = 0;
            if !conditions
                .iter()
                .any(|c| c["type"] == "Suspended" && c["status"] == "True")
            {
                conditions.retain(|c| c["type"] != "Suspended");
                conditions.push(condition("Suspended", "JobSuspended", "Job suspended"));
                self.recorder
                    .normal(&*job, None, "Suspended", "Job suspended".to_owned());
            }
        } else {
            if conditions
                .iter()
                .any(|c| c["type"] == "Suspended" && c["status"] == "True")
            {
                conditions.retain(|c| c["type"] != "Suspended");
                let mut resumed = condition("Suspended", "JobResumed", "Job resumed");
                resumed["status"] = json!("False");
                conditions.push(resumed);
                self.recorder
                    .normal(&*job, None, "Resumed", "Job resumed".to_owned());
            }
            if self.expectations.satisfied(&key) {
                again = self
                    .manage(
                        &key,
                        &job,
                        &active,
                        &failed_pods,
                        &completed,
                        succeeded,
                        failed,
                    )
                    .await?;
            }
            if let Some(deadline) = spec.active_deadline_seconds {
                let left = start.as_second() + deadline - now.as_second();
                let left = Duration::from_secs(u64::try_from(left.max(1)).unwrap_or(1));
                again = Some(again.map_or(left, |a: Duration| a.min(left)));
            }
        }
        let ready = active.iter().filter(|p| pods::is_ready(p)).count();
        let status = json!({
            "active": if active_count > 0 { json!(active_count) } else { Value::Null },
            "ready": if active_count > 0 { ready } else { 0 },
            "succeeded": if succeeded > 0 { json!(succeeded) } else { Value::Null },
            "failed": if failed > 0 { json!(failed) } else { Value::Null },
            "startTime": status.start_time.as_ref().map_or_else(|| json!(gantry_api::time::now_rfc3339()), |t| json!(t)),
            "completionTime": completion_time,
            "completedIndexes": if indexed && !completed.is_empty() { json!(policy::format_indexes(&completed)) } else { Value::Null },
            "uncountedTerminatedPods": {},
            "conditions": if conditions.is_empty() { Value::Null } else { json!(conditions) },
        });
        let mut status = status;
        if suspended
            && status["startTime"].is_string()
            && job
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .is_none()
        {
            status["startTime"] = Value::Null;
        }
        self.write_status(&job, status).await?;
        Ok(again)
    }
}

impl JobController {
    /// Creates or deletes pods toward the wanted number active; returns when to look again
    /// (a back-off to wait out).
    #[allow(
        clippy::too_many_arguments,
        reason = "one sync's counts, passed rather than recomputed"
    )]
    async fn manage(
        &self,
        key: &str,
        job: &Job,
        active: &[Arc<Pod>],
        failed_pods: &[&Arc<Pod>],
        completed: &BTreeSet<i32>,
        succeeded: i32,
        failed: i32,
    ) -> anyhow::Result<Option<Duration>> {
        let spec = job.spec.clone().unwrap_or_default();
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        let want = match spec.completions {
            None if succeeded > 0 => 0,
            None => parallelism,
            Some(c) if indexed => parallelism.min(c - i32::try_from(completed.len()).unwrap_or(0)),
            Some(c) => parallelism.min(c - succeeded),
        }
        .max(0);
        let have = i32::try_from(active.len()).unwrap_or(0);
        if have > want {
            let mut extra: Vec<Arc<Pod>> = active.to_vec();
            // Newest first, as upstream removes the least progressed pods.
            extra.sort_by_key(|p| {
                std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0))
            });
            extra.truncate(usize::try_from(have - want).unwrap_or(0));
            self.delete_pods(key, job, &extra).await?;
            return Ok(None);
        }
        if have == want {
            return Ok(None);
        }
        // After failures, replacements wait out the back-off from the last failure.
        if failed > 0 {
            let last = failed_pods
                .iter()
                .filter_map(|p| {
                    p.status
                        .as_ref()?
                        .container_statuses
                        .as_ref()?
                        .iter()
                        .filter_map(|c| {
                            c.state
                                .as_ref()?
                                .terminated
                                .as_ref()?
                                .finished_at
                                .as_ref()
                                .map(|t| t.0)
                        })
                        .max()
                })
                .max();
            if let Some(last) = last {
                let wait = policy::backoff(failed);
                let since = k8s_openapi::jiff::Timestamp::now().as_second() - last.as_second();
                let left = i64::try_from(wait.as_secs()).unwrap_or(0) - since;
                if left > 0 {
                    return Ok(Some(Duration::from_secs(u64::try_from(left).unwrap_or(0))));
                }
            }
        }
        let count = usize::try_from(want - have).unwrap_or(0);
        let indexes: Vec<Option<i32>> = if indexed {
            let running: BTreeSet<i32> = active.iter().filter_map(|p| index_of(p)).collect();
            (0..spec.completions.unwrap_or(0))
                .filter(|i| !completed.contains(i) && !running.contains(i))
                .take(count)
                .map(Some)
                .collect()
        } else {
            vec![None; count]
        };
        self.expectations.expect_creations(key, indexes.len());
        let mut failure = None;
        for index in indexes {
            if let Err(e) = self.create_pod(key, job, index).await {
                failure = Some(e);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}
