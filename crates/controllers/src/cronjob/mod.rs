//! The CronJob controller (upstream's v2): at each scheduled time it creates a Job from the
//! template (named `<cronjob>-<minutes since the epoch>`, so a time is never run twice),
//! honouring `concurrencyPolicy` (`Allow`, `Forbid`, `Replace`), `startingDeadlineSeconds`,
//! `suspend` and `timeZone`; it keeps `status.active`, `lastScheduleTime` and
//! `lastSuccessfulTime`, and deletes finished Jobs beyond `successfulJobsHistoryLimit` and
//! `failedJobsHistoryLimit`.

pub mod schedule;

use crate::Context;
use crate::informer::{key_of, split_key};
use crate::pods;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Upstream's limit on missed start times before it warns and takes only the last.
const TOO_MANY_MISSED: usize = 100;

/// The controller.
#[derive(Debug)]
pub struct CronJobController {
    ctx: Context,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
}

/// `Complete` or `Failed`, if the Job finished.
fn finish(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find_map(|c| {
            ((c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
                .then_some(c.type_.as_str())
        })
}

fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl CronJobController {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.cron_jobs.on(move |_, new| {
                if let Some(cron) = new {
                    queue.add(key_of(cron));
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            let cron_jobs = Arc::clone(&ctx.cron_jobs);
            ctx.jobs.on(move |old, new| {
                if let Some(key) = new
                    .or(old)
                    .and_then(|j| cron_jobs.controller_of(&j.metadata))
                {
                    queue.add(key);
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            recorder: ctx.recorder("cronjob-controller"),
            queue,
        })
    }

    fn jobs_api(&self, namespace: &str) -> Api<Job> {
        Api::namespaced(self.ctx.client.clone(), namespace)
    }

    async fn delete_job(&self, cron: &CronJob, job: &Job) -> anyhow::Result<()> {
        let name = job.metadata.name.as_deref().unwrap_or_default();
        let namespace = job.metadata.namespace.as_deref().unwrap_or_default();
        match self
            .jobs_api(namespace)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => {
                self.recorder.normal(
                    cron,
                    None,
                    "SuccessfulDelete",
                    format!("Deleted job {name}"),
                );
                Ok(())
            }
            Err(e) if crate::is_not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the oldest finished Jobs beyond the history limits.
    async fn clean_history(&self, cron: &CronJob, jobs: &[Arc<Job>]) -> anyhow::Result<()> {
        let spec = cron.spec.clone().unwrap_or_default();
        for (kind, limit) in [
            ("Complete", spec.successful_jobs_history_limit.unwrap_or(3)),
            ("Failed", spec.failed_jobs_history_limit.unwrap_or(1)),
        ] {
            let mut finished: Vec<&Arc<Job>> =
                jobs.iter().filter(|j| finish(j) == Some(kind)).collect();
            let excess = finished
                .len()
                .saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
            finished.sort_by_key(|j| {
                j.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0)
                    .or_else(|| j.metadata.creation_timestamp.as_ref().map(|t| t.0))
            });
            for job in finished.into_iter().take(excess) {
                self.delete_job(cron, job).await?;
            }
        }
        Ok(())
    }

    async fn create_job(&self, cron: &CronJob, at: Timestamp) -> anyhow::Result<Job> {
        let spec = cron.spec.clone().unwrap_or_default();
        let template = spec.job_template;
        let name = format!(
            "{}-{}",
            cron.metadata.name.as_deref().unwrap_or_default(),
            at.as_second() / 60
        );
        let namespace = cron.metadata.namespace.as_deref().unwrap_or_default();
        let meta = template.metadata.unwrap_or_default();
        let mut annotations = meta.annotations.unwrap_or_default();
        annotations.insert(
            "batch.kubernetes.io/cronjob-scheduled-timestamp".to_owned(),
            time(at),
        );
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace, "labels": meta.labels, "annotations": annotations,
                "ownerReferences": [pods::controller_ref(cron)]},
            "spec": template.spec,
        }))?;
        match self
            .jobs_api(namespace)
            .create(&PostParams::default(), &job)
            .await
        {
            Ok(created) => {
                self.recorder.normal(
                    cron,
                    None,
                    "SuccessfulCreate",
                    format!("Created job {name}"),
                );
                Ok(created)
            }
            // Created already (the cache lags): it is the same scheduled run.
            Err(kube::Error::Api(s)) if s.code == 409 => {
                Ok(self.jobs_api(namespace).get(&name).await?)
            }
            Err(e) => {
                self.recorder.warning(
                    cron,
                    None,
                    "FailedCreate",
                    format!("Error creating job: {}", crate::api_message(&e)),
                );
                Err(e.into())
            }
        }
    }
}

impl Reconcile for CronJobController {
    fn name(&self) -> &'static str {
        "cronjob-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(cron) = self.ctx.cron_jobs.get(&key) else {
            return Ok(None);
        };
        if cron.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let (namespace, _) = split_key(&key);
        let spec = cron.spec.clone().unwrap_or_default();
        let uid = cron.metadata.uid.clone().unwrap_or_default();
        let jobs: Vec<Arc<Job>> = self
            .ctx
            .jobs
            .list_namespace(namespace)
            .into_iter()
            .filter(|j| pods::controller_of(&j.metadata).is_some_and(|o| o.uid == uid))
            .collect();
        let status = cron.status.clone().unwrap_or_default();
        let mut last_schedule = status.last_schedule_time.as_ref().map(|t| t.0);
        let mut last_success = status.last_successful_time.as_ref().map(|t| t.0);
        // Active: our unfinished Jobs; finished ones are reported once.
        let mut active: Vec<Arc<Job>> = Vec::new();
        for job in &jobs {
            match finish(job) {
                None if job.metadata.deletion_timestamp.is_none() => active.push(Arc::clone(job)),
                None => {}
                Some(kind) => {
                    let name = job.metadata.name.clone().unwrap_or_default();
                    let was_active = status
                        .active
                        .iter()
                        .flatten()
                        .any(|r| r.name.as_deref() == Some(name.as_str()));
                    if was_active {
                        self.recorder.normal(
                            &*cron,
                            None,
                            "SawCompletedJob",
                            format!("Saw completed job: {name}, condition: {kind}"),
                        );
                    }
                    if kind == "Complete"
                        && let Some(done) = job
                            .status
                            .as_ref()
                            .and_then(|s| s.completion_time.as_ref())
                            .map(|t| t.0)
                    {
                        last_success = Some(last_success.map_or(done, |l| l.max(done)));
                    }
                }
            }
        }
        let zone = match spec.time_zone.as_deref() {
            None | Some("") => TimeZone::UTC,
            Some(name) => match TimeZone::get(name) {
                Ok(zone) => zone,
                Err(_) => {
                    self.recorder.warning(
                        &*cron,
                        None,
                        "UnknownTimeZone",
                        format!("invalid timeZone: {name:?}"),
                    );
                    return Ok(None);
                }
            },
        };
        let schedule = match schedule::Schedule::parse(&spec.schedule) {
            Ok(s) => s,
            Err(e) => {
                self.recorder.warning(
                    &*cron,
                    None,
                    "UnparseableSchedule",
                    format!("unparseable schedule: {:?} : {e}", spec.schedule),
                );
                return Ok(None);
            }
        };
        let now = Timestamp::now();
        let mut again = None;
        if !spec.suspend.unwrap_or(false) {
            // The most recent missed time since the last run (or the creation).
            let created = cron
                .metadata
                .creation_timestamp
                .as_ref()
                .map_or(now, |t| t.0);
            let mut cursor = last_schedule.unwrap_or(created);
            let mut due = None;
            let mut missed = 0;
            while let Some(t) = schedule.next(cursor, &zone).filter(|t| *t <= now) {
                due = Some(t);
                missed += 1;
                cursor = t;
                if missed > TOO_MANY_MISSED * 100 {
                    break;
                }
            }
            if missed > TOO_MANY_MISSED {
                self.recorder.warning(&*cron, None, "TooManyMissedTimes",
                    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".to_owned());
            }
            if let Some(at) = due {
                let late = spec
                    .starting_deadline_seconds
                    .is_some_and(|d| at.as_second() + d < now.as_second());
                if late {
                    self.recorder.warning(
                        &*cron,
                        None,
                        "MissSchedule",
                        format!(
                            "Missed scheduled time to start a job: {}",
                            at.strftime("%a, %d %b %Y %H:%M:%S %z")
                        ),
                    );
                } else if spec.concurrency_policy.as_deref() == Some("Forbid") && !active.is_empty()
                {
                    // Skipped: the time is not recorded, so it runs once the active Job ends —
                    // unless a later time comes first (upstream's behaviour).
                    tracing::debug!(cronjob = %key, "a Job is still active; skipping this run");
                } else {
                    if spec.concurrency_policy.as_deref() == Some("Replace") {
                        for job in active.drain(..) {
                            self.delete_job(&cron, &job).await?;
                        }
                    }
                    let job = self.create_job(&cron, at).await?;
                    active.push(Arc::new(job));
                    last_schedule = Some(at);
                }
            }
            again = schedule.next(now, &zone).map(|next| {
                Duration::from_millis(
                    u64::try_from((next.as_millisecond() - now.as_millisecond()).max(0))
                        .unwrap_or(0)
                        + 100,
                )
            });
        }
        self.clean_history(&cron, &jobs).await?;
        let refs: Vec<Value> = active
            .iter()
            .map(|j| json!({"apiVersion": "batch/v1", "kind": "Job", "name": j.metadata.name, "namespace": j.metadata.namespace,
                "uid": j.metadata.uid, "resourceVersion": j.metadata.resource_version}))
            .collect();
        let new_status = json!({
            "active": if refs.is_empty() { Value::Null } else { json!(refs) },
            "lastScheduleTime": last_schedule.map(time),
            "lastSuccessfulTime": last_success.map(time),
        });
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["name"].as_str().map(str::to_owned))
                .collect()
        };
        let before = serde_json::to_value(&status)?;
        let changed = names(&before["active"]) != names(&new_status["active"])
            || before["lastScheduleTime"].as_str() != new_status["lastScheduleTime"].as_str()
            || before["lastSuccessfulTime"].as_str() != new_status["lastSuccessfulTime"].as_str();
        if changed {
            let api: Api<CronJob> = Api::namespaced(self.ctx.client.clone(), namespace);
            let name = cron.metadata.name.as_deref().unwrap_or_default();
            api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": new_status})),
            )
            .await?;
        }
        Ok(again)
    }
}
