//! Watch streams over the embedded index. Each stream keeps only a cursor (the next revision to
//! deliver) and reads events from the shared history when the visible revision moves, so a slow
//! watcher costs no buffering and cannot hold up writers or other watchers; if compaction passes
//! its cursor it ends with `Compacted`, as an etcd watcher does.

use super::Shared;
use crate::{Error, KeySelector, Result, WatchRequest, WatchResponse, WatchStream};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// At most this many events go into one response (a revision is never split across two).
const MAX_EVENTS_PER_RESPONSE: usize = 1000;

/// At most this many revisions are scanned under one hold of the index's read lock, so a watcher
/// far behind on a prefix that rarely matches cannot keep the committer waiting.
const MAX_REVISIONS_PER_SCAN: i64 = 10_000;

struct Cursor {
    shared: Arc<Shared>,
    revisions: tokio::sync::watch::Receiver<i64>,
    selector: KeySelector,
    next: i64,
    progress: Option<Duration>,
    last_sent: Instant,
    ended: bool,
}

pub(super) fn stream(shared: Arc<Shared>, request: WatchRequest) -> WatchStream {
    let revisions = shared.revisions.clone();
    let next = match request.start_revision {
        0 => *revisions.borrow() + 1,
        r => r,
    };
    let cursor = Cursor {
        progress: request.progress_notify.then_some(shared.progress_interval),
        shared,
        revisions,
        selector: request.selector,
        next,
        last_sent: Instant::now(),
        ended: false,
    };
    futures::stream::unfold(cursor, |mut cursor| async move {
        let item = cursor.next_item().await?;
        Some((item, cursor))
    })
    .boxed()
}

impl Cursor {
    async fn next_item(&mut self) -> Option<Result<WatchResponse>> {
        if self.ended {
            return None;
        }
        loop {
            let visible = *self.revisions.borrow_and_update();
            if self.next <= visible {
                let upto = visible.min(self.next.saturating_add(MAX_REVISIONS_PER_SCAN - 1));
                let read = self.shared.read_index().events(
                    self.next,
                    upto,
                    &self.selector,
                    MAX_EVENTS_PER_RESPONSE,
                );
                match read {
                    Err(error) => {
                        self.ended = true;
                        return Some(Err(error));
                    }
                    Ok((events, last)) => {
                        self.next = last + 1;
                        if !events.is_empty() {
                            self.last_sent = Instant::now();
                            return Some(Ok(WatchResponse::Events(events)));
                        }
                        // Nothing matched in this stretch: let other tasks run before the next.
                        tokio::task::yield_now().await;
                        continue;
                    }
                }
            }
            // Caught up: wait for the next revision, or send progress when it has been quiet.
            let changed = match self.progress {
                None => self.revisions.changed().await,
                Some(interval) => {
                    tokio::select! {
                        changed = self.revisions.changed() => changed,
                        () = tokio::time::sleep_until(self.last_sent + interval) => {
                            self.last_sent = Instant::now();
                            return Some(Ok(WatchResponse::Progress { revision: visible }));
                        }
                    }
                }
            };
            if changed.is_err() {
                // The store shut down: end the stream so the consumer re-establishes it.
                self.ended = true;
                return Some(Err(Error::Closed));
            }
        }
    }
}
