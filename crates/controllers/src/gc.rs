//! The garbage collector, as upstream's: a graph of every object that has owners or
//! dependents (built from watches on every deletable resource, refreshed as resources appear),
//! and three kinds of work on it:
//!
//! - `delete:<uid>` — an object whose owners may be gone: if every owner is gone (or is a
//!   different object now), the dependent is deleted (background, or as its own finalizers
//!   say); if some owner remains, references to the gone ones are removed; an owner being
//!   deleted in the foreground takes its dependents with it.
//! - `orphan:<uid>` — an owner deleted with `propagationPolicy=Orphan`: its dependents lose
//!   their reference to it, then its `orphan` finalizer goes.
//! - `foreground:<uid>` — an owner deleted with `propagationPolicy=Foreground`: its dependents
//!   are deleted, and once none that blocks it (`blockOwnerDeletion`) is left, its
//!   `foregroundDeletion` finalizer goes.

use crate::discovery::{self, Served};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often resources are discovered again (upstream's default resync of the GC's
/// discovery, 30 s), so that custom resources are collected too.
const REDISCOVER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Node {
    served: Arc<Served>,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

impl Node {
    fn has_finalizer(&self, name: &str) -> bool {
        self.finalizers.iter().any(|f| f == name)
    }

    fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        match &self.namespace {
            Some(namespace) => {
                Api::namespaced_with(client.clone(), namespace, &self.served.resource)
            }
            None => Api::all_with(client.clone(), &self.served.resource),
        }
    }
}

#[derive(Debug, Default)]
struct Graph {
    nodes: HashMap<String, Node>,
    /// Owner UID → dependent UIDs (owners need not be known yet).
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    fn unlink(&mut self, uid: &str, owners: &[OwnerReference]) {
        for owner in owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&owner.uid);
                }
            }
        }
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The controller.
pub struct GarbageCollector {
    client: kube::Client,
    queue: Arc<WorkQueue>,
    graph: Mutex<Graph>,
    /// `(group, kind)` → resource, to find owners by their references.
    kinds: Mutex<HashMap<(String, String), Arc<Served>>>,
}

/// How an owner stands, for one dependent.
enum Standing {
    /// Exists and is not taking its dependents with it.
    Solid,
    /// Gone, or another object under that name.
    Dangling,
    /// Being deleted in the foreground.
    Waiting,
}

impl std::fmt::Debug for GarbageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GarbageCollector").finish_non_exhaustive()
    }
}

impl GarbageCollector {
    /// The collector; `run` must be started for it to see anything.
    pub fn new(client: kube::Client) -> Arc<Self> {
        Arc::new(Self {
            client,
            queue: Arc::new(WorkQueue::default()),
            graph: Mutex::default(),
            kinds: Mutex::default(),
        })
    }

    fn graph(&self) -> std::sync::MutexGuard<'_, Graph> {
        self.graph
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Watches every deletable resource (discovering new ones every 30 s) until aborted;
    /// `synced` is told once the first discovery's lists are all in.
    pub async fn watch(self: Arc<Self>, synced: tokio::sync::oneshot::Sender<()>) {
        let mut watching: HashSet<String> = HashSet::new();
        let mut synced = Some(synced);
        loop {
            match discovery::deletable(&self.client).await {
                Ok(resources) => {
                    let mut lists = Vec::new();
                    for served in resources {
                        let served = Arc::new(served);
                        let id =
                            format!("{}/{}", served.resource.api_version, served.resource.plural);
                        self.kinds
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(
                                (served.resource.group.clone(), served.resource.kind.clone()),
                                Arc::clone(&served),
                            );
                        if watching.insert(id) {
                            let (listed, done) = tokio::sync::oneshot::channel();
                            lists.push(done);
                            tokio::spawn(Arc::clone(&self).watch_one(served, listed));
                        }
                    }
                    if let Some(synced) = synced.take() {
                        // A resource that cannot be listed must not hold the collector back
                        // for good; its objects join the graph when they arrive.
                        let all = futures::future::join_all(lists);
                        if tokio::time::timeout(Duration::from_secs(60), all)
                            .await
                            .is_err()
                        {
                            tracing::warn!(
                                "garbage collector: some resources were not listed in time"
                            );
                        }
                        let _ = synced.send(());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collector: discovery failed; retrying")
                }
            }
            tokio::time::sleep(REDISCOVER).await;
        }
    }

    async fn watch_one(
        self: Arc<Self>,
        served: Arc<Served>,
        listed: tokio::sync::oneshot::Sender<()>,
    ) {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &served.resource);
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        let mut listed = Some(listed);
        let mut seen: Option<HashSet<String>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Init) => seen = Some(HashSet::new()),
                Ok(watcher::Event::InitApply(object)) => {
                    if let Some(seen) = seen.as_mut() {
                        seen.insert(object.metadata.uid.clone().unwrap_or_default());
                    }
                    self.observe(&served, &object);
                }
                Ok(watcher::Event::InitDone) => {
                    let seen = seen.take().unwrap_or_default();
                    let gone: Vec<String> = self
                        .graph()
                        .nodes
                        .iter()
                        .filter(|(uid, n)| Arc::ptr_eq(&n.served, &served) && !seen.contains(*uid))
                        .map(|(uid, _)| uid.clone())
                        .collect();
                    for uid in gone {
                        self.forget(&uid);
                    }
                    if let Some(listed) = listed.take() {
                        let _ = listed.send(());
                    }
                }
                Ok(watcher::Event::Apply(object)) => self.observe(&served, &object),
                Ok(watcher::Event::Delete(object)) => {
                    self.forget(object.metadata.uid.as_deref().unwrap_or_default());
                }
                Err(e) => {
                    tracing::debug!(error = %e, resource = %served.resource.plural, "garbage collector: watch failed; retrying")
                }
            }
        }
    }

    /// Takes in an object (added or changed) and queues the work it may need.
    fn observe(&self, served: &Arc<Served>, object: &DynamicObject) {
        let meta = &object.metadata;
        let Some(uid) = meta.uid.clone() else { return };
        let owners = meta.owner_references.clone().unwrap_or_default();
        let node = Node {
            served: Arc::clone(served),
            namespace: meta.namespace.clone(),
            name: meta.name.clone().unwrap_or_default(),
            owners: owners.clone(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        };
        let mut graph = self.graph();
        let before = graph.nodes.get(&uid).cloned();
        // Objects with no owners and no dependents need no place in the graph, unless they
        // are finalizing for the collector.
        let collector_finalizer = node.deleting
            && (node.has_finalizer("orphan") || node.has_finalizer("foregroundDeletion"));
        if let Some(before) = &before {
            let old = before.owners.clone();
            graph.unlink(&uid, &old);
        }
        for owner in &owners {
            graph
                .dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(uid.clone());
        }
        let dependents = graph.dependents_of(&uid);
        graph.nodes.insert(uid.clone(), node.clone());
        drop(graph);
        let owners_changed = before.as_ref().is_none_or(|b| b.owners != owners);
        if !owners.is_empty() && owners_changed {
            self.queue.add(format!("delete:{uid}"));
        }
        if collector_finalizer {
            if node.has_finalizer("orphan") {
                self.queue.add(format!("orphan:{uid}"));
            }
            if node.has_finalizer("foregroundDeletion") {
                self.queue.add(format!("foreground:{uid}"));
                for dependent in dependents {
                    self.queue.add(format!("delete:{dependent}"));
                }
            }
        }
    }

    /// Forgets a deleted object; its dependents may now be garbage, and owners deleting in
    /// the foreground may be free to go.
    fn forget(&self, uid: &str) {
        let mut graph = self.graph();
        let Some(node) = graph.nodes.remove(uid) else {
            return;
        };
        graph.unlink(uid, &node.owners);
        let dependents = graph.dependents_of(uid);
        let waiting: Vec<String> = node
            .owners
            .iter()
            .filter(|o| {
                graph
                    .nodes
                    .get(&o.uid)
                    .is_some_and(|n| n.deleting && n.has_finalizer("foregroundDeletion"))
            })
            .map(|o| o.uid.clone())
            .collect();
        drop(graph);
        for dependent in dependents {
            self.queue.add(format!("delete:{dependent}"));
        }
        for owner in waiting {
            self.queue.add(format!("foreground:{owner}"));
        }
    }

    /// How `owner` stands for a dependent in `namespace`.
    async fn standing(
        &self,
        owner: &OwnerReference,
        namespace: Option<&str>,
    ) -> anyhow::Result<Standing> {
        let known = self.graph().nodes.get(&owner.uid).cloned();
        if let Some(node) = known {
            return Ok(
                if node.deleting && node.has_finalizer("foregroundDeletion") {
                    Standing::Waiting
                } else {
                    Standing::Solid
                },
            );
        }
        // Not in the graph: ask the API server (the graph may lag behind).
        let key = (
            discovery::group_of(&owner.api_version).to_owned(),
            owner.kind.clone(),
        );
        let served = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let Some(served) = served else {
            anyhow::bail!(
                "owner kind {}/{} is not served",
                owner.api_version,
                owner.kind
            );
        };
        let api: Api<DynamicObject> = match namespace.filter(|_| served.namespaced) {
            Some(namespace) => {
                Api::namespaced_with(self.client.clone(), namespace, &served.resource)
            }
            None => Api::all_with(self.client.clone(), &served.resource),
        };
        Ok(match api.get_opt(&owner.name).await? {
            Some(found) if found.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
                let waiting = found.metadata.deletion_timestamp.is_some()
                    && found
                        .metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == "foregroundDeletion");
                if waiting {
                    Standing::Waiting
                } else {
                    Standing::Solid
                }
            }
            _ => Standing::Dangling,
        })
    }

    async fn attempt_to_delete(&self, uid: &str) -> anyhow::Result<()> {
        let Some(node) = self.graph().nodes.get(uid).cloned() else {
            return Ok(());
        };
        if node.owners.is_empty() || (node.deleting && !node.has_finalizer("foregroundDeletion")) {
            return Ok(());
        }
        let (mut solid, mut gone, mut waiting) = (0, Vec::new(), Vec::new());
        for owner in &node.owners {
            match self.standing(owner, node.namespace.as_deref()).await? {
                Standing::Solid => solid += 1,
                Standing::Dangling => gone.push(owner.uid.clone()),
                Standing::Waiting => waiting.push(owner.uid.clone()),
            }
        }
        if solid > 0 {
            if gone.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            gone.extend(waiting);
            return self.remove_owners(&node, &gone).await;
        }
        let has_dependents = !self.graph().dependents_of(uid).is_empty();
        let policy = if !waiting.is_empty() && has_dependents {
            PropagationPolicy::Foreground
        } else if node.has_finalizer("orphan") {
            PropagationPolicy::Orphan
        } else if node.has_finalizer("foregroundDeletion") {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        tracing::debug!(name = %node.name, kind = %node.served.resource.kind, ?policy, "garbage collector: deleting");
        let params = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match node.api(&self.client).delete(&node.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Drops the references to `owners` from the object (a merge patch of the remaining list,
    /// conditioned on the version read).
    async fn remove_owners(&self, node: &Node, owners: &[String]) -> anyhow::Result<()> {
        let api = node.api(&self.client);
        let Some(fresh) = api.get_opt(&node.name).await? else {
            return Ok(());
        };
        let refs = fresh.metadata.owner_references.clone().unwrap_or_default();
        let kept: Vec<&OwnerReference> = refs.iter().filter(|r| !owners.contains(&r.uid)).collect();
        if kept.len() == refs.len() {
            return Ok(());
        }
        let patch = json!({"metadata": {"ownerReferences": kept, "resourceVersion": fresh.metadata.resource_version}});
        api.patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Takes `finalizer` off the object (conditioned on the version read).
    async fn remove_finalizer(&self, node: &Node, finalizer: &str) -> anyhow::Result<()> {
        let api = node.api(&self.client);
        let Some(fresh) = api.get_opt(&node.name).await? else {
            return Ok(());
        };
        let finalizers = fresh.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.iter().any(|f| f == finalizer) {
            return Ok(());
        }
        let kept: Vec<&String> = finalizers.iter().filter(|f| *f != finalizer).collect();
        let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": fresh.metadata.resource_version}});
        api.patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    async fn orphan(&self, uid: &str) -> anyhow::Result<()> {
        let Some(owner) = self.graph().nodes.get(uid).cloned() else {
            return Ok(());
        };
        let dependents = self.graph().dependents_of(uid);
        for dependent in dependents {
            let node = self.graph().nodes.get(&dependent).cloned();
            if let Some(node) = node {
                self.remove_owners(&node, &[uid.to_owned()]).await?;
            }
        }
        self.remove_finalizer(&owner, "orphan").await
    }

    async fn foreground(&self, uid: &str) -> anyhow::Result<()> {
        let Some(owner) = self.graph().nodes.get(uid).cloned() else {
            return Ok(());
        };
        let (dependents, blocking) = {
            let graph = self.graph();
            let dependents = graph.dependents_of(uid);
            let blocking = dependents.iter().any(|d| {
                graph.nodes.get(d).is_some_and(|n| {
                    n.owners
                        .iter()
                        .any(|o| o.uid == uid && o.block_owner_deletion == Some(true))
                })
            });
            (dependents, blocking)
        };
        if blocking {
            // Their deletion brings this owner back here when they are gone.
            for dependent in dependents {
                self.queue.add(format!("delete:{dependent}"));
            }
            return Ok(());
        }
        self.remove_finalizer(&owner, "foregroundDeletion").await
    }
}

impl Reconcile for GarbageCollector {
    fn name(&self) -> &'static str {
        "garbage-collector-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        match key.split_once(':') {
            Some(("delete", uid)) => self.attempt_to_delete(uid).await?,
            Some(("orphan", uid)) => self.orphan(uid).await?,
            Some(("foreground", uid)) => self.foreground(uid).await?,
            _ => {}
        }
        Ok(None)
    }
}
