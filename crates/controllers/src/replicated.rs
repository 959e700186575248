//! What the ReplicaSet controller needs of the objects it drives, so that one controller serves
//! ReplicaSets and ReplicationControllers (upstream runs its ReplicaSet code for both, too).

use crate::Context;
use crate::informer::{Informer, Kind};
use gantry_api::selector::LabelSelector;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use std::sync::Arc;

/// A kind that keeps a number of pods from a template.
pub trait Replicated:
    Kind + kube::Resource<Scope = NamespaceResourceScope> + serde::Serialize
{
    /// Upstream's controller name, also the event source.
    const CONTROLLER: &'static str;

    /// The shared informer of this kind.
    fn informer(ctx: &Context) -> &Arc<Informer<Self>>;

    /// `spec.replicas` (1 by default).
    fn replicas(&self) -> i32;

    /// `spec.minReadySeconds`.
    fn min_ready_seconds(&self) -> i32;

    /// The pod template.
    fn template(&self) -> Option<&PodTemplateSpec>;

    /// The selector, unless it selects nothing in particular (absent, invalid or empty).
    fn selector(&self) -> Option<LabelSelector>;
}

fn usable(
    selector: Result<LabelSelector, gantry_api::selector::SelectorError>,
) -> Option<LabelSelector> {
    selector
        .ok()
        .filter(|s| !s.is_nothing() && !s.is_everything())
}

impl Replicated for ReplicaSet {
    const CONTROLLER: &'static str = "replicaset-controller";

    fn informer(ctx: &Context) -> &Arc<Informer<Self>> {
        &ctx.replica_sets
    }

    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }

    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }

    fn selector(&self) -> Option<LabelSelector> {
        let json = serde_json::to_value(&self.spec.as_ref()?.selector).ok()?;
        usable(LabelSelector::from_label_selector_json(&json))
    }
}

impl Replicated for ReplicationController {
    const CONTROLLER: &'static str = "replication-controller";

    fn informer(ctx: &Context) -> &Arc<Informer<Self>> {
        &ctx.replication_controllers
    }

    fn replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }

    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }

    /// A map of labels; without one, the template's labels (as upstream defaults it).
    fn selector(&self) -> Option<LabelSelector> {
        let spec = self.spec.as_ref()?;
        let labels = spec
            .selector
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| spec.template.as_ref()?.metadata.as_ref()?.labels.clone())?;
        usable(LabelSelector::from_label_selector_json(
            &serde_json::json!({"matchLabels": labels}),
        ))
    }
}
