//! The plugins, one file each, and the registry of upstream's default set with its weights.

pub mod balanced_allocation;
pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod taint_toleration;
pub mod volume_binding;
pub mod volume_restrictions;

use crate::framework::Plugin;
use std::sync::Arc;

/// A plugin with the weight of its scores.
#[derive(Debug, Clone)]
pub struct Weighted {
    /// The plugin.
    pub plugin: Arc<dyn Plugin>,
    /// Its score weight (upstream's defaults); 0 when it does not score.
    pub weight: i64,
    /// Whether it filters (and pre-filters).
    pub filter: bool,
}

/// Upstream's default plugins (those built so far), in upstream's order, with their default
/// score weights.
pub fn default_plugins() -> Vec<Weighted> {
    let plugin = |plugin: Arc<dyn Plugin>, weight| Weighted {
        plugin,
        weight,
        filter: true,
    };
    vec![
        plugin(Arc::new(node_unschedulable::NodeUnschedulable), 0),
        plugin(Arc::new(node_name::NodeName), 0),
        plugin(Arc::new(taint_toleration::TaintToleration), 3),
        plugin(Arc::new(node_affinity::NodeAffinity), 2),
        plugin(Arc::new(node_ports::NodePorts), 0),
        plugin(Arc::new(volume_restrictions::VolumeRestrictions), 0),
        plugin(Arc::new(volume_binding::VolumeBinding), 0),
        plugin(Arc::new(node_resources_fit::NodeResourcesFit::default()), 1),
        plugin(Arc::new(pod_topology_spread::PodTopologySpread), 2),
        plugin(Arc::new(inter_pod_affinity::InterPodAffinity), 2),
        plugin(Arc::new(balanced_allocation::BalancedAllocation), 1),
        plugin(Arc::new(image_locality::ImageLocality), 1),
    ]
}
