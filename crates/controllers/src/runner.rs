//! The loop every controller runs: workers take keys from the controller's queue and
//! reconcile them one at a time per key; a failure comes back after its back-off, a success
//! may ask to be looked at again later (a `minReadySeconds` to wait out, a deadline).

use crate::queue::WorkQueue;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A controller: a name, a queue of keys, and what to do with one key.
pub trait Reconcile: Send + Sync + 'static {
    /// Upstream's name for the controller (`replicaset-controller`, ...).
    fn name(&self) -> &'static str;

    /// The controller's queue.
    fn queue(&self) -> &Arc<WorkQueue>;

    /// Brings the object with this key toward what it declares. `Ok(Some(d))`: look again
    /// after `d`.
    fn reconcile(
        &self,
        key: String,
    ) -> impl Future<Output = anyhow::Result<Option<Duration>>> + Send;
}

/// Runs `workers` workers for the controller until aborted.
pub async fn run<R: Reconcile>(controller: Arc<R>, workers: usize) {
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|_| tokio::spawn(work(Arc::clone(&controller))))
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

async fn work<R: Reconcile>(controller: Arc<R>) {
    let queue = Arc::clone(controller.queue());
    loop {
        let key = queue.get().await;
        match controller.reconcile(key.clone()).await {
            Ok(again) => {
                queue.forget(&key);
                if let Some(delay) = again {
                    queue.add_after(key.clone(), delay);
                }
            }
            Err(e) => {
                tracing::warn!(
                    controller = controller.name(),
                    key = %key,
                    failures = queue.failures(&key) + 1,
                    error = %format!("{e:#}"),
                    "sync failed; retrying"
                );
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}
