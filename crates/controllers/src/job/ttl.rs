//! The TTL-after-finished controller: a finished Job with `ttlSecondsAfterFinished` is deleted
//! (its pods with it, in the background) that many seconds after it finished.

use crate::Context;
use crate::informer::{Informer, key_of, split_key};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions};
use std::sync::Arc;
use std::time::Duration;

/// The controller.
pub struct TtlController {
    client: kube::Client,
    jobs: Arc<Informer<Job>>,
    queue: Arc<WorkQueue>,
}

impl std::fmt::Debug for TtlController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlController").finish_non_exhaustive()
    }
}

impl TtlController {
    /// The controller, with its handler on the Job informer.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.jobs.on(move |_, new| {
                if let Some(job) = new.filter(|j| super::finished(j) && ttl_of(j).is_some()) {
                    queue.add(key_of(job));
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            jobs: Arc::clone(&ctx.jobs),
            queue,
        })
    }
}

fn ttl_of(job: &Job) -> Option<i32> {
    job.spec.as_ref()?.ttl_seconds_after_finished
}

/// When the Job finished: its `Complete` or `Failed` condition's transition.
fn finished_at(job: &Job) -> Option<i64> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .filter(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0.as_second()))
        .max()
}

impl Reconcile for TtlController {
    fn name(&self) -> &'static str {
        "ttl-after-finished-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(job) = self.jobs.get(&key) else {
            return Ok(None);
        };
        let (Some(ttl), Some(at)) = (ttl_of(&job), finished_at(&job)) else {
            return Ok(None);
        };
        if job.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let left = at + i64::from(ttl) - k8s_openapi::jiff::Timestamp::now().as_second();
        if left > 0 {
            return Ok(Some(Duration::from_secs(u64::try_from(left).unwrap_or(0))));
        }
        let (namespace, name) = split_key(&key);
        let api: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: job.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(None),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
