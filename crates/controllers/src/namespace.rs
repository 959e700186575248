//! The namespace controller: a namespace being deleted (`Terminating`) is emptied of every
//! namespaced object of every resource the API server serves — custom resources included —
//! and then its `kubernetes` finalizer is removed (through `namespaces/<name>/finalize`), so
//! that the API server deletes it. While it waits, its status conditions say what is left,
//! with upstream's types, reasons and messages.

use crate::Context;
use crate::discovery::{self, Served};
use crate::informer::Informer;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How soon to look again while content is still going (pods wait out their grace periods).
const RECHECK: Duration = Duration::from_secs(2);

/// The controller.
pub struct NamespaceController {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    queue: Arc<WorkQueue>,
}

impl std::fmt::Debug for NamespaceController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceController")
            .finish_non_exhaustive()
    }
}

impl NamespaceController {
    /// The controller, with its handler on the namespace informer.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.namespaces.on(move |_, new| {
                if let Some(ns) = new.filter(|n| n.metadata.deletion_timestamp.is_some()) {
                    queue.add(ns.metadata.name.clone().unwrap_or_default());
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            namespaces: Arc::clone(&ctx.namespaces),
            queue,
        })
    }

    fn api(&self, served: &Served, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &served.resource)
    }

    /// Deletes everything of one resource in the namespace; an error says why not.
    async fn delete_content(&self, served: &Served, namespace: &str) -> Result<(), String> {
        let api = self.api(served, namespace);
        let params = DeleteParams::background();
        match api.delete_collection(&params, &ListParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 405 || s.code == 404 => {
                // No deletecollection here: one by one.
                let list = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| e.to_string())?;
                for object in list.items {
                    let name = object.metadata.name.unwrap_or_default();
                    match api.delete(&name, &params).await {
                        Ok(_) => {}
                        Err(e) if crate::is_not_found(&e) => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn write_conditions(
        &self,
        namespace: &Namespace,
        conditions: Vec<serde_json::Value>,
    ) -> anyhow::Result<()> {
        let existing = namespace
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        // A condition keeps its transition time while its status stays.
        let conditions: Vec<serde_json::Value> = conditions
            .into_iter()
            .map(|mut c| {
                let kept = existing
                    .iter()
                    .find(|e| e.type_ == c["type"] && e.status == c["status"]);
                c["lastTransitionTime"] = match kept.and_then(|k| k.last_transition_time.clone()) {
                    Some(t) => json!(t),
                    None => json!(gantry_api::time::now_rfc3339()),
                };
                c
            })
            .collect();
        let unchanged = existing.len() == conditions.len()
            && existing.iter().zip(&conditions).all(|(e, c)| {
                e.type_ == c["type"]
                    && e.status == c["status"]
                    && e.message.as_deref() == c["message"].as_str()
            });
        if unchanged {
            return Ok(());
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let name = namespace.metadata.name.as_deref().unwrap_or_default();
        let patch = json!({"status": {"conditions": conditions}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    async fn finalize(&self, namespace: &Namespace) -> anyhow::Result<()> {
        let mut finalized = namespace.clone();
        if let Some(spec) = finalized.spec.as_mut() {
            spec.finalizers = Some(
                spec.finalizers
                    .iter()
                    .flatten()
                    .filter(|f| *f != "kubernetes")
                    .cloned()
                    .collect(),
            );
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let name = namespace.metadata.name.as_deref().unwrap_or_default();
        match api
            .replace_subresource("finalize", name, &PostParams::default(), &finalized)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: String) -> serde_json::Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message})
}

/// `group/resource` as upstream prints a GroupResource (the core group prints bare).
fn group_resource(served: &Served) -> String {
    if served.resource.group.is_empty() {
        served.resource.plural.clone()
    } else {
        format!("{}.{}", served.resource.plural, served.resource.group)
    }
}

impl Reconcile for NamespaceController {
    fn name(&self) -> &'static str {
        "namespace-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, name: String) -> anyhow::Result<Option<Duration>> {
        let Some(namespace) = self.namespaces.get(&name) else {
            return Ok(None);
        };
        let held = namespace
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|f| f == "kubernetes"));
        if namespace.metadata.deletion_timestamp.is_none() || !held {
            return Ok(None);
        }
        let mut conditions = Vec::new();
        let served: Vec<Served> = match discovery::deletable(&self.client).await {
            Ok(all) => {
                conditions.push(condition(
                    "NamespaceDeletionDiscoveryFailure",
                    "False",
                    "ResourcesDiscovered",
                    "All resources successfully discovered".into(),
                ));
                all.into_iter().filter(|s| s.namespaced).collect()
            }
            Err(e) => {
                conditions.push(condition(
                    "NamespaceDeletionDiscoveryFailure",
                    "True",
                    "DiscoveryFailed",
                    format!("Discovery failed for some groups: {e}"),
                ));
                self.write_conditions(&namespace, conditions).await?;
                return Err(e);
            }
        };
        conditions.push(condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into(),
        ));
        let mut failures = Vec::new();
        for resource in &served {
            if let Err(e) = self.delete_content(resource, &name).await {
                failures.push(format!("{}: {e}", group_resource(resource)));
            }
        }
        conditions.push(if failures.is_empty() {
            condition(
                "NamespaceDeletionContentFailure",
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".into(),
            )
        } else {
            condition(
                "NamespaceDeletionContentFailure",
                "True",
                "ContentDeletionFailed",
                format!(
                    "Failed to delete all resource types, {} remaining: {}",
                    failures.len(),
                    failures.join(", ")
                ),
            )
        });
        // What is left, and which finalizers hold it.
        let mut remaining = Vec::new();
        let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
        for resource in &served {
            let Ok(list) = self.api(resource, &name).list(&ListParams::default()).await else {
                continue;
            };
            if list.items.is_empty() {
                continue;
            }
            remaining.push(format!(
                "{} has {} resource instances",
                group_resource(resource),
                list.items.len()
            ));
            for object in &list.items {
                for finalizer in object.metadata.finalizers.iter().flatten() {
                    *finalizers.entry(finalizer.clone()).or_default() += 1;
                }
            }
        }
        conditions.push(if remaining.is_empty() {
            condition(
                "NamespaceContentRemaining",
                "False",
                "ContentRemoved",
                "All content successfully removed".into(),
            )
        } else {
            condition(
                "NamespaceContentRemaining",
                "True",
                "SomeResourcesRemain",
                format!("Some resources are remaining: {}", remaining.join(", ")),
            )
        });
        conditions.push(if finalizers.is_empty() {
            condition(
                "NamespaceFinalizersRemaining",
                "False",
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".into(),
            )
        } else {
            let held: Vec<String> = finalizers
                .iter()
                .map(|(f, n)| format!("{f} in {n} resource instances"))
                .collect();
            condition(
                "NamespaceFinalizersRemaining",
                "True",
                "SomeFinalizersRemain",
                format!(
                    "Some content in the namespace has finalizers remaining: {}",
                    held.join(", ")
                ),
            )
        });
        self.write_conditions(&namespace, conditions).await?;
        if !failures.is_empty() {
            anyhow::bail!(
                "deleting the content of namespace {name}: {}",
                failures.join("; ")
            );
        }
        if !remaining.is_empty() {
            return Ok(Some(RECHECK));
        }
        self.finalize(&namespace).await?;
        Ok(None)
    }
}
