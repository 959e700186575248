//! Watches this node's pods (`spec.nodeName=<node>`) and hands each to its worker, starting
//! workers for new pods and telling them when their pod changes or disappears. After the first
//! complete list it removes whatever the runtime still runs for pods that no longer exist.

use crate::pods::PodContext;
use crate::pods::teardown::remove_orphans;
use crate::pods::worker::Worker;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::watch;

struct Slot {
    updates: watch::Sender<Option<Arc<Pod>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Runs until `shutdown` fires.
pub async fn run(ctx: Arc<PodContext>, shutdown: watch::Receiver<bool>) {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.node_name));
    let stream = watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    let mut slots: HashMap<String, Slot> = HashMap::new();
    let mut listing: Option<HashSet<String>> = None;
    let mut orphans_checked = false;
    let mut stop = shutdown.clone();
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = stop.changed() => break,
        };
        let Some(event) = event else { break };
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(error = %e, "watching this node's pods failed; retrying");
                continue;
            }
        };
        slots.retain(|_, slot| !slot.task.is_finished());
        match event {
            watcher::Event::Init => listing = Some(HashSet::new()),
            // Mirror pods only show static pods, which their own source runs.
            watcher::Event::InitApply(pod) | watcher::Event::Apply(pod) if is_mirror(&pod) => {
                if let Some(seen) = listing.as_mut() {
                    seen.insert(pod.metadata.uid.clone().unwrap_or_default());
                }
            }
            watcher::Event::InitApply(pod) | watcher::Event::Apply(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                if let Some(seen) = listing.as_mut() {
                    seen.insert(uid.clone());
                }
                let pod = Arc::new(pod);
                match slots.get(&uid) {
                    Some(slot) => {
                        let _ = slot.updates.send(Some(pod));
                    }
                    None => {
                        let (updates, receiver) = watch::channel(Some(Arc::clone(&pod)));
                        let worker = Worker::new(Arc::clone(&ctx), pod, receiver);
                        let task = tokio::spawn(worker.run(shutdown.clone()));
                        slots.insert(uid, Slot { updates, task });
                    }
                }
            }
            watcher::Event::Delete(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                if let Some(slot) = slots.get(&uid) {
                    let _ = slot.updates.send(None);
                }
            }
            watcher::Event::InitDone => {
                let seen = listing.take().unwrap_or_default();
                for (uid, slot) in &slots {
                    if !seen.contains(uid) {
                        let _ = slot.updates.send(None);
                    }
                }
                if !orphans_checked {
                    orphans_checked = true;
                    match remove_orphans(&ctx, &seen).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(sandboxes = n, "removed sandboxes of pods that are gone")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e.message(), "could not look for orphaned sandboxes")
                        }
                    }
                }
            }
        }
    }
    for (_, slot) in slots {
        let _ = slot.task.await;
    }
}

fn is_mirror(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(crate::pods::static_pods::MIRROR))
}
