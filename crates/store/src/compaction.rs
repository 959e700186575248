//! Automatic compaction, as the Kubernetes API server runs it against etcd (every five minutes
//! by default, `--etcd-compaction-interval`): at each tick, compact to the revision that was
//! current at the previous tick, so that at least one interval of history is always kept for
//! watchers to resume from.

use crate::{Error, Store};
use std::time::Duration;

/// Upstream's default interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// Decides, tick by tick, which revision to compact to.
#[derive(Debug, Default)]
pub struct Policy {
    /// The revision seen at the previous tick.
    previous: Option<i64>,
}

impl Policy {
    /// Records the revision current at this tick; returns the revision to compact to, if any.
    #[must_use]
    pub fn tick(&mut self, current: i64) -> Option<i64> {
        let target = self.previous.filter(|&p| p > 0);
        self.previous = Some(current);
        target
    }
}

/// Runs the policy every `interval` until `shutdown` completes. Errors are logged and the next
/// tick tries again: a missed compaction only keeps history a little longer.
pub async fn run(
    store: &dyn Store,
    interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut policy = Policy::default();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        let current = match store.current_revision().await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(%error, "compaction skipped: cannot read the current revision");
                continue;
            }
        };
        let Some(target) = policy.tick(current) else {
            continue;
        };
        match store.compact(target).await {
            // Already compacted this far (another API server, or nothing written): not an error.
            Ok(()) | Err(Error::Compacted { .. }) => {
                tracing::debug!(revision = target, "compacted the store");
            }
            Err(error) => tracing::warn!(%error, revision = target, "compaction failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Policy;
    use crate::embedded::{EmbeddedConfig, EmbeddedStore};
    use crate::{Error, RangeRequest, Store, Txn};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_loop_compacts_history_older_than_one_interval() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
        let first = store.txn(Txn::new().put("/a", "1")).await.unwrap().revision;
        store.txn(Txn::new().put("/a", "2")).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runner = {
            let store = store.clone();
            tokio::spawn(async move {
                super::run(&store, Duration::from_millis(20), async {
                    let _ = stopped.await;
                })
                .await;
            })
        };
        // Liveness bound only: the loop must get there, however slowly the machine runs.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let old = store
                .range(RangeRequest::key("/a").at_revision(first))
                .await;
            if matches!(old, Err(Error::Compacted { .. })) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "history was never compacted"
            );
            store.txn(Txn::new().put("/b", "tick")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(());
        runner.await.unwrap();
        let latest = store.range(RangeRequest::key("/a")).await.unwrap();
        assert_eq!(
            &latest.kvs[0].value[..],
            b"2",
            "compaction keeps the latest state"
        );
    }

    #[test]
    fn each_tick_compacts_to_the_revision_of_the_previous_tick() {
        let mut policy = Policy::default();
        assert_eq!(policy.tick(10), None, "the first tick only records");
        assert_eq!(policy.tick(25), Some(10));
        assert_eq!(policy.tick(25), Some(25));
        assert_eq!(policy.tick(40), Some(25));
    }

    #[test]
    fn an_empty_store_is_never_compacted() {
        let mut policy = Policy::default();
        assert_eq!(policy.tick(0), None);
        assert_eq!(policy.tick(0), None);
        assert_eq!(policy.tick(3), None);
        assert_eq!(policy.tick(3), Some(3));
    }
}
