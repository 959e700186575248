//! The DaemonSet controller: one pod per eligible node (see `placement`), created pinned to its
//! node through node affinity (the scheduler binds it, as upstream); pods on nodes that no
//! longer qualify are deleted, failed daemon pods are replaced, and a changed template rolls
//! out node by node within `maxUnavailable` (`OnDelete` waits for users to delete pods).
//! Template revisions are ControllerRevisions (`<name>-<hash>`), so `kubectl rollout history
//! daemonset` lists them; pods carry the `controller-revision-hash` label.

pub mod placement;
pub mod surge;

use crate::Context;
use crate::expectations::Expectations;
use crate::informer::{key_of, split_key};
use crate::pods;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The label that names a pod's template revision.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// The controller.
#[derive(Debug)]
pub struct DaemonSetController {
    ctx: Context,
    recorder: gantry_client::events::Recorder,
    queue: Arc<WorkQueue>,
    expectations: Arc<Expectations>,
    /// DaemonSet UID → the revision hash whose ControllerRevision exists.
    revisions: Mutex<HashMap<String, String>>,
}

fn selector_of(set: &DaemonSet) -> Option<LabelSelector> {
    let json = serde_json::to_value(&set.spec.as_ref()?.selector).ok()?;
    LabelSelector::from_label_selector_json(&json)
        .ok()
        .filter(|s| !s.is_nothing() && !s.is_everything())
}

/// The node a daemon pod belongs to: its `nodeName`, or the node its affinity pins it to.
fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(node) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(node.clone());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms.iter().find_map(|t| {
        t.match_fields
            .iter()
            .flatten()
            .find(|f| f.key == "metadata.name" && f.operator == "In")
            .and_then(|f| f.values.as_ref()?.first().cloned())
    })
}

impl DaemonSetController {
    /// The controller, with its handlers on the shared informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        let expectations = Arc::new(Expectations::default());
        {
            let (queue, expectations) = (Arc::clone(&queue), Arc::clone(&expectations));
            ctx.daemon_sets.on(move |old, new| match (old, new) {
                (_, Some(set)) => queue.add(key_of(set)),
                (Some(set), None) => expectations.forget(&key_of(set)),
                (None, None) => {}
            });
        }
        {
            let (queue, expectations) = (Arc::clone(&queue), Arc::clone(&expectations));
            let sets = Arc::clone(&ctx.daemon_sets);
            ctx.pods.on(move |old, new| {
                crate::expectations::observe_child(&sets, &queue, &expectations, old, new);
            });
        }
        {
            // A node added, removed, relabelled or retainted may change where daemons belong.
            let queue = Arc::clone(&queue);
            let sets = Arc::clone(&ctx.daemon_sets);
            ctx.nodes.on(move |old, new| {
                let changed = match (old, new) {
                    (Some(a), Some(b)) => {
                        a.metadata.labels != b.metadata.labels || a.spec != b.spec
                    }
                    _ => true,
                };
                if changed {
                    for set in sets.list() {
                        queue.add(key_of(&*set));
                    }
                }
            });
        }
        Arc::new(Self {
            ctx: ctx.clone(),
            recorder: ctx.recorder("daemonset-controller"),
            queue,
            expectations,
            revisions: Mutex::default(),
        })
    }

    fn pods_api(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.ctx.client.clone(), namespace)
    }

    /// Makes sure the template's ControllerRevision exists (once per template and set).
    async fn ensure_revision(&self, set: &DaemonSet, hash: &str) -> anyhow::Result<()> {
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let known = self
            .revisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&uid)
            .cloned();
        if known.as_deref() == Some(hash) {
            return Ok(());
        }
        let template = set
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        crate::revisions::ensure(&self.ctx.client, set, hash, &template).await?;
        self.revisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(uid, hash.to_owned());
        Ok(())
    }

    async fn create_on(
        &self,
        key: &str,
        set: &DaemonSet,
        node: &str,
        hash: &str,
    ) -> anyhow::Result<()> {
        let spec = set.spec.clone().unwrap_or_default();
        let mut template = spec.template.clone();
        let meta = template.metadata.get_or_insert_with(Default::default);
        let labels = meta.labels.get_or_insert_with(Default::default);
        labels.insert(REVISION_LABEL.to_owned(), hash.to_owned());
        labels.insert(
            "pod-template-generation".to_owned(),
            set.metadata.generation.unwrap_or(0).to_string(),
        );
        template.spec = Some(placement::pod_spec_for(
            &template.spec.clone().unwrap_or_default(),
            node,
        ));
        let name = set.metadata.name.as_deref().unwrap_or_default();
        let pod: Pod = serde_json::from_value(pods::from_template(
            &template,
            &format!("{name}-"),
            pods::controller_ref(set),
        ))?;
        let namespace = set.metadata.namespace.as_deref().unwrap_or_default();
        match self
            .pods_api(namespace)
            .create(&PostParams::default(), &pod)
            .await
        {
            Ok(created) => {
                let created = created.metadata.name.unwrap_or_default();
                self.recorder.normal(
                    set,
                    None,
                    "SuccessfulCreate",
                    format!("Created pod: {created}"),
                );
                Ok(())
            }
            Err(e) => {
                self.expectations.creation_observed(key);
                self.recorder.warning(
                    set,
                    None,
                    "FailedCreate",
                    format!("Error creating: {}", crate::api_message(&e)),
                );
                Err(e.into())
            }
        }
    }

    async fn delete(&self, key: &str, set: &DaemonSet, pod: &Pod) -> anyhow::Result<()> {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        match self
            .pods_api(namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => {
                self.recorder.normal(
                    set,
                    None,
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                );
                Ok(())
            }
            Err(e) => {
                self.expectations
                    .deletion_observed(key, pod.metadata.uid.as_deref().unwrap_or_default());
                if crate::is_not_found(&e) {
                    Ok(())
                } else {
                    Err(e.into())
                }
            }
        }
    }
}

impl Reconcile for DaemonSetController {
    fn name(&self) -> &'static str {
        "daemonset-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(set) = self.ctx.daemon_sets.get(&key) else {
            self.expectations.forget(&key);
            return Ok(None);
        };
        let (namespace, _) = split_key(&key);
        let Some(selector) = selector_of(&set) else {
            return Ok(None);
        };
        if set.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let spec = set.spec.clone().unwrap_or_default();
        let template_spec = spec.template.spec.clone().unwrap_or_default();
        let hash = crate::deployment::revision::template_hash(
            &spec.template,
            set.status
                .as_ref()
                .and_then(|s| s.collision_count)
                .filter(|c| *c > 0),
        );
        self.ensure_revision(&set, &hash).await?;
        // Pods are claimed whatever their phase: a failed daemon pod is replaced, not ignored.
        let candidates: Vec<Arc<Pod>> = self
            .ctx
            .pods
            .list_namespace(namespace)
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let owned = crate::claim::claim(&self.ctx.client, &*set, &selector, candidates).await?;
        let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for pod in owned {
            if let Some(node) = target_node(&pod) {
                by_node.entry(node).or_default().push(pod);
            }
        }
        let nodes = self.ctx.nodes.list();
        let now = k8s_openapi::jiff::Timestamp::now();
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let phase = |p: &Pod| {
            p.status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default()
        };
        let current = |p: &Pod| {
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL))
                == Some(&hash)
        };
        let rolling_update = spec
            .update_strategy
            .as_ref()
            .filter(|s| s.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate")
            .and_then(|s| s.rolling_update.clone());
        let eligible = nodes
            .iter()
            .filter(|n| placement::fits(&template_spec, n).0)
            .count();
        let max_surge = crate::deployment::rollout::scaled(
            rolling_update.as_ref().and_then(|r| r.max_surge.as_ref()),
            i32::try_from(eligible).unwrap_or(0),
            true,
        )
        .max(0);
        if self.expectations.satisfied(&key) {
            let (mut create, mut delete): (Vec<String>, Vec<Arc<Pod>>) = (Vec::new(), Vec::new());
            let mut seen: HashSet<String> = HashSet::new();
            for node in &nodes {
                let name = node.metadata.name.clone().unwrap_or_default();
                seen.insert(name.clone());
                let (should_run, may_stay) = placement::fits(&template_spec, node);
                let mut here = by_node.get(&name).cloned().unwrap_or_default();
                // Failed pods go, and are replaced on the next pass.
                let (failed, mut running): (Vec<_>, Vec<_>) =
                    here.drain(..).partition(|p| phase(p) == "Failed");
                delete.extend(failed.iter().cloned());
                if !may_stay || (!should_run && running.is_empty()) {
                    delete.append(&mut running);
                    continue;
                }
                if should_run && running.is_empty() && failed.is_empty() {
                    create.push(name);
                } else if running.len() > 1 {
                    // One pod per node, the oldest — with a surge, one of each revision.
                    running.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
                    let mut kept: Vec<bool> = Vec::new();
                    for pod in running {
                        let kind = max_surge > 0 && current(&pod);
                        if kept.contains(&kind) || (max_surge == 0 && !kept.is_empty()) {
                            delete.push(pod);
                        } else {
                            kept.push(kind);
                        }
                    }
                }
            }
            // Pods for nodes that no longer exist.
            for (node, pods) in &by_node {
                if !seen.contains(node) {
                    delete.extend(pods.iter().cloned());
                }
            }
            // The rolling update: old pods go while no more than maxUnavailable are missing.
            let rolling = spec
                .update_strategy
                .as_ref()
                .and_then(|s| s.type_.as_deref())
                .unwrap_or("RollingUpdate")
                == "RollingUpdate";
            if rolling && max_surge > 0 {
                let deleting: HashSet<String> = delete
                    .iter()
                    .filter_map(|p| p.metadata.uid.clone())
                    .collect();
                let per_node: Vec<(String, Vec<Arc<Pod>>)> = nodes
                    .iter()
                    .filter(|n| placement::fits(&template_spec, n).0)
                    .filter_map(|n| {
                        let name = n.metadata.name.clone()?;
                        let live: Vec<Arc<Pod>> = by_node
                            .get(&name)?
                            .iter()
                            .filter(|p| {
                                phase(p) != "Failed"
                                    && !deleting
                                        .contains(p.metadata.uid.as_deref().unwrap_or_default())
                            })
                            .cloned()
                            .collect();
                        Some((name, live))
                    })
                    .collect();
                let plan = surge::plan(
                    &per_node,
                    |p| current(p),
                    |p| pods::is_available(p, min_ready, now),
                    max_surge,
                );
                create.extend(plan.create);
                delete.extend(plan.delete);
            } else if rolling {
                let desired = nodes
                    .iter()
                    .filter(|n| placement::fits(&template_spec, n).0)
                    .count();
                let max_unavailable = spec
                    .update_strategy
                    .as_ref()
                    .and_then(|s| s.rolling_update.as_ref())
                    .and_then(|r| r.max_unavailable.as_ref())
                    .map_or(1, |v| {
                        crate::deployment::rollout::scaled(
                            Some(v),
                            i32::try_from(desired).unwrap_or(0),
                            true,
                        )
                    })
                    .max(1);
                let mut unavailable = nodes
                    .iter()
                    .filter(|n| placement::fits(&template_spec, n).0)
                    .filter(|n| {
                        let name = n.metadata.name.clone().unwrap_or_default();
                        !by_node.get(&name).is_some_and(|ps| {
                            ps.iter().any(|p| pods::is_available(p, min_ready, now))
                        })
                    })
                    .count() as i32;
                let deleting: HashSet<String> = delete
                    .iter()
                    .filter_map(|p| p.metadata.uid.clone())
                    .collect();
                for pods in by_node.values() {
                    for pod in pods.iter().filter(|p| {
                        !current(p)
                            && !deleting.contains(p.metadata.uid.as_deref().unwrap_or_default())
                    }) {
                        if !pods::is_available(pod, min_ready, now) {
                            delete.push(Arc::clone(pod));
                        } else if unavailable < max_unavailable {
                            unavailable += 1;
                            delete.push(Arc::clone(pod));
                        }
                    }
                }
            }
            self.expectations.expect_creations(&key, create.len());
            let mut failure = None;
            for node in &create {
                if let Err(e) = self.create_on(&key, &set, node, &hash).await {
                    failure = Some(e);
                }
            }
            if !delete.is_empty() {
                self.expectations
                    .expect_deletions(&key, delete.iter().filter_map(|p| p.metadata.uid.clone()));
                for pod in &delete {
                    if let Err(e) = self.delete(&key, &set, pod).await {
                        failure = Some(e);
                    }
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        // Status, from what the cache shows now.
        let mut desired = 0;
        let (mut scheduled, mut misscheduled, mut ready, mut available, mut updated) =
            (0, 0, 0, 0, 0);
        for node in &nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            let here: Vec<&Arc<Pod>> = by_node
                .get(&name)
                .into_iter()
                .flatten()
                .filter(|p| phase(p) != "Failed")
                .collect();
            let (should_run, _) = placement::fits(&template_spec, node);
            if !should_run {
                misscheduled += i32::from(!here.is_empty());
                continue;
            }
            desired += 1;
            if here.is_empty() {
                continue;
            }
            scheduled += 1;
            ready += i32::from(here.iter().any(|p| pods::is_ready(p)));
            available += i32::from(here.iter().any(|p| pods::is_available(p, min_ready, now)));
            updated += i32::from(here.iter().any(|p| current(p)));
        }
        let status = json!({
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": scheduled,
            "numberMisscheduled": misscheduled,
            "numberReady": ready,
            "numberAvailable": if available > 0 { json!(available) } else { json!(null) },
            "numberUnavailable": if desired - available > 0 { json!(desired - available) } else { json!(null) },
            "updatedNumberScheduled": if updated > 0 { json!(updated) } else { json!(null) },
            "observedGeneration": set.metadata.generation,
        });
        let before = serde_json::to_value(set.status.clone().unwrap_or_default())?;
        let changed = status.as_object().into_iter().flatten().any(|(k, v)| {
            before.get(k).unwrap_or(&serde_json::Value::Null) != v
                && !(v.is_null() && before.get(k).is_some_and(|b| b == 0))
        });
        if changed {
            let api: Api<DaemonSet> = Api::namespaced(self.ctx.client.clone(), namespace);
            let name = set.metadata.name.as_deref().unwrap_or_default();
            api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await?;
        }
        Ok((min_ready > 0 && ready != available)
            .then(|| Duration::from_secs(u64::try_from(min_ready).unwrap_or(0))))
    }
}
