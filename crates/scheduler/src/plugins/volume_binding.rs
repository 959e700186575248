//! VolumeBinding, to the extent storage objects exist here: a pod whose claim is missing,
//! being deleted, or not yet bound while its class binds at once cannot be scheduled until
//! that changes (upstream's pre-filter messages); a claim bound to a volume with node affinity
//! limits the pod to the nodes the volume reaches. Claims that wait for their first consumer
//! pass: the provisioner follows the scheduler's choice.

use crate::framework::{Plugin, Status};
use crate::info::{NodeInfo, PodInfo};
use crate::plugins::node_affinity::term_matches;
use crate::volumes::ClaimState;

/// Upstream's messages.
pub const UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
/// Upstream's messages.
pub const NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct VolumeBinding;

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        "VolumeBinding"
    }

    fn pre_filter(&self, pod: &PodInfo) -> Status {
        for claim in &pod.claims {
            match claim {
                ClaimState::Missing(name) => {
                    return Status::unresolvable(format!(
                        "persistentvolumeclaim \"{name}\" not found"
                    ));
                }
                ClaimState::Deleting(name) => {
                    return Status::unresolvable(format!(
                        "persistentvolumeclaim \"{name}\" is being deleted"
                    ));
                }
                ClaimState::UnboundImmediate(_) => return Status::unresolvable(UNBOUND_IMMEDIATE),
                ClaimState::UnboundDelayed(_) | ClaimState::Bound(_) => {}
            }
        }
        Status::Success
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reachable = pod.claims.iter().all(|claim| match claim {
            ClaimState::Bound(Some(selector)) => selector
                .node_selector_terms
                .iter()
                .any(|t| term_matches(t, node)),
            _ => true,
        });
        if reachable {
            Status::Success
        } else {
            Status::unresolvable(NODE_CONFLICT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_gate_the_pod_and_volumes_pick_nodes() {
        let mut pod = PodInfo::new(
            serde_json::from_value(
                json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"},
                "spec": {"containers": []}}),
            )
            .unwrap(),
        );
        assert!(VolumeBinding.pre_filter(&pod).is_success());
        pod.claims = vec![ClaimState::Missing("data".into())];
        assert_eq!(
            VolumeBinding.pre_filter(&pod),
            Status::unresolvable("persistentvolumeclaim \"data\" not found")
        );
        pod.claims = vec![ClaimState::UnboundImmediate("data".into())];
        assert_eq!(
            VolumeBinding.pre_filter(&pod),
            Status::unresolvable(UNBOUND_IMMEDIATE)
        );
        pod.claims = vec![ClaimState::Bound(Some(
            serde_json::from_value(json!({"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}))
            .unwrap(),
        ))];
        assert!(VolumeBinding.pre_filter(&pod).is_success());
        let node = |zone: &str| NodeInfo {
            name: zone.into(),
            labels: std::sync::Arc::new([("zone".to_owned(), zone.to_owned())].into()),
            ..NodeInfo::default()
        };
        assert!(VolumeBinding.filter(&pod, &node("a")).is_success());
        assert_eq!(
            VolumeBinding.filter(&pod, &node("b")),
            Status::unresolvable(NODE_CONFLICT)
        );
    }
}
