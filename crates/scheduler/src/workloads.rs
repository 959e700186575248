//! The selectors of the objects that group pods — Services, ReplicationControllers,
//! ReplicaSets and StatefulSets — fed by watches, for upstream's cluster-default topology
//! spread constraints: a pod with no constraints of its own is spread among the pods that the
//! same objects select (upstream's `DefaultSelector`: every selector that matches the pod,
//! combined).

use crate::Shared;
use crate::watch::{self, Seen, Watched};
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Selectors by namespace, then by `kind/name`.
#[derive(Debug, Default)]
pub struct Workloads {
    selectors: HashMap<String, BTreeMap<String, LabelSelector>>,
}

impl Workloads {
    /// Records (or, with `None`, forgets) the selector of `kind/name` in `namespace`.
    pub fn set(&mut self, namespace: &str, id: String, selector: Option<LabelSelector>) {
        let entries = self.selectors.entry(namespace.to_owned()).or_default();
        match selector.filter(|s| s.match_labels.is_some() || s.match_expressions.is_some()) {
            Some(selector) => {
                entries.insert(id, selector);
            }
            None => {
                entries.remove(&id);
            }
        }
    }

    /// Every selector matching `pod`, combined into one; `None` when nothing selects it.
    pub fn selector_for(&self, pod: &Pod) -> Option<LabelSelector> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let mut combined = LabelSelector::default();
        let mut any = false;
        for selector in self.selectors.get(namespace)?.values() {
            if !crate::plugins::inter_pod_affinity::selects(Some(selector), &labels) {
                continue;
            }
            any = true;
            if let Some(labels) = &selector.match_labels {
                combined
                    .match_labels
                    .get_or_insert_with(BTreeMap::new)
                    .extend(labels.clone());
            }
            if let Some(expressions) = &selector.match_expressions {
                combined
                    .match_expressions
                    .get_or_insert_with(Vec::new)
                    .extend(expressions.iter().cloned());
            }
        }
        any.then_some(combined)
    }
}

/// Follows one kind: `selector` reads an object's selector.
async fn follow<K>(
    shared: Arc<Shared>,
    kind: &'static str,
    selector: fn(&K) -> Option<LabelSelector>,
) where
    K: Watched,
{
    watch::each::<K>(shared.client.clone(), kind, |seen| {
        let (object, found) = match seen {
            Seen::Present(o) => {
                let found = selector(&o);
                (o, found)
            }
            Seen::Gone(o) => (o, None),
        };
        let meta = object.meta();
        let namespace = meta.namespace.clone().unwrap_or_default();
        let id = format!("{kind}/{}", meta.name.as_deref().unwrap_or_default());
        shared.workloads().set(&namespace, id, found);
    })
    .await;
}

fn labels_only(labels: Option<&BTreeMap<String, String>>) -> Option<LabelSelector> {
    labels.filter(|l| !l.is_empty()).map(|l| LabelSelector {
        match_labels: Some(l.clone()),
        match_expressions: None,
    })
}

/// Watches the four kinds until aborted.
pub(crate) fn watch(shared: &Arc<Shared>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(follow::<Service>(Arc::clone(shared), "Service", |s| {
            labels_only(s.spec.as_ref().and_then(|s| s.selector.as_ref()))
        })),
        tokio::spawn(follow::<ReplicationController>(
            Arc::clone(shared),
            "ReplicationController",
            |r| labels_only(r.spec.as_ref().and_then(|s| s.selector.as_ref())),
        )),
        tokio::spawn(follow::<ReplicaSet>(
            Arc::clone(shared),
            "ReplicaSet",
            |r| r.spec.as_ref().map(|s| s.selector.clone()),
        )),
        tokio::spawn(follow::<StatefulSet>(
            Arc::clone(shared),
            "StatefulSet",
            |s| s.spec.as_ref().map(|s| s.selector.clone()),
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_selector_matching_the_pod_is_combined() {
        let mut workloads = Workloads::default();
        let selector = |v: serde_json::Value| Some(serde_json::from_value(v).unwrap());
        workloads.set(
            "d",
            "Service/web".into(),
            selector(json!({"matchLabels": {"app": "web"}})),
        );
        workloads.set(
            "d",
            "ReplicaSet/web-1".into(),
            selector(json!({"matchLabels": {"app": "web", "hash": "1"}})),
        );
        workloads.set(
            "d",
            "Service/db".into(),
            selector(json!({"matchLabels": {"app": "db"}})),
        );
        workloads.set(
            "other",
            "Service/web".into(),
            selector(json!({"matchLabels": {"app": "web"}})),
        );
        let pod = |labels: serde_json::Value| -> Pod {
            serde_json::from_value(
                json!({"metadata": {"name": "p", "namespace": "d", "labels": labels}}),
            )
            .unwrap()
        };
        let combined = workloads
            .selector_for(&pod(json!({"app": "web", "hash": "1"})))
            .unwrap();
        assert_eq!(
            combined.match_labels.unwrap(),
            [
                ("app".to_owned(), "web".to_owned()),
                ("hash".to_owned(), "1".to_owned())
            ]
            .into()
        );
        assert!(
            workloads
                .selector_for(&pod(json!({"app": "cache"})))
                .is_none()
        );
        workloads.set("d", "Service/web".into(), None);
        workloads.set("d", "ReplicaSet/web-1".into(), None);
        assert!(
            workloads
                .selector_for(&pod(json!({"app": "web", "hash": "1"})))
                .is_none()
        );
    }
}
