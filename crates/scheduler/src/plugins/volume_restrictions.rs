//! VolumeRestrictions: volumes that cannot be shared. A claim with the `ReadWriteOncePod`
//! access mode that another scheduled pod already uses keeps the pod off every node (that pod
//! must go first: preemption may help); an inline disk that one node can attach only once (GCE
//! persistent disks and AWS EBS volumes unless every user mounts them read-only, Ceph RBD
//! images, iSCSI LUNs) keeps the pod off the node where another pod has it.

use crate::framework::{Plugin, State, Status};
use crate::info::{NodeInfo, PodInfo};
use k8s_openapi::api::core::v1::Pod;

/// Upstream's messages.
pub const ONE_POD_CONFLICT: &str =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";
/// Upstream's messages.
pub const DISK_CONFLICT: &str = "node(s) had no available disk";

/// The inline disks of `pod` that a node cannot share, as `kind:identity`, with whether the pod
/// mounts them read-only.
pub fn disks(pod: &Pod) -> Vec<(String, bool)> {
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    volumes
        .filter_map(|v| {
            if let Some(gce) = &v.gce_persistent_disk {
                return Some((
                    format!("gce:{}", gce.pd_name),
                    gce.read_only.unwrap_or(false),
                ));
            }
            if let Some(aws) = &v.aws_elastic_block_store {
                return Some((
                    format!("aws:{}", aws.volume_id),
                    aws.read_only.unwrap_or(false),
                ));
            }
            if let Some(rbd) = &v.rbd {
                let pool = rbd.pool.as_deref().unwrap_or("rbd");
                let mut monitors = rbd.monitors.clone();
                monitors.sort();
                return Some((
                    format!("rbd:{}/{pool}/{}", monitors.join(","), rbd.image),
                    false,
                ));
            }
            if let Some(iscsi) = &v.iscsi {
                return Some((format!("iscsi:{}/{}", iscsi.iqn, iscsi.lun), false));
            }
            None
        })
        .collect()
}

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct VolumeRestrictions;

/// Whether a one-pod claim of the pod is in use by another scheduled pod.
#[derive(Debug)]
struct InUse(bool);

impl Plugin for VolumeRestrictions {
    fn name(&self) -> &'static str {
        "VolumeRestrictions"
    }

    fn prepare(&self, pod: &PodInfo, nodes: &[&NodeInfo]) -> State {
        if pod.one_pod_claims.is_empty() {
            return None;
        }
        let in_use = nodes.iter().any(|node| {
            node.pods.iter().any(|(uid, other)| {
                *uid != pod.uid && other.claims.iter().any(|c| pod.one_pod_claims.contains(c))
            })
        });
        Some(Box::new(InUse(in_use)))
    }

    fn filter_with(&self, state: &State, pod: &PodInfo, node: &NodeInfo) -> Status {
        if state
            .as_ref()
            .and_then(|s| s.downcast_ref::<InUse>())
            .is_some_and(|s| s.0)
        {
            return Status::unschedulable(ONE_POD_CONFLICT);
        }
        self.filter(pod, node)
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let mine = disks(&pod.pod);
        if mine.is_empty() {
            return Status::Success;
        }
        let conflict = node.pods.values().any(|other| {
            other.disks.iter().any(|(theirs, their_read_only)| {
                mine.iter().any(|(disk, read_only)| {
                    // GCE and EBS disks may be shared by pods that all only read them.
                    disk == theirs
                        && !(*read_only
                            && *their_read_only
                            && (disk.starts_with("gce:") || disk.starts_with("aws:")))
                })
            })
        });
        if conflict {
            Status::unschedulable(DISK_CONFLICT)
        } else {
            Status::Success
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::PodEntry;
    use serde_json::json;

    fn pod(uid: &str, volumes: serde_json::Value) -> PodInfo {
        PodInfo::new(
            serde_json::from_value(
                json!({"metadata": {"name": uid, "namespace": "d", "uid": uid},
                "spec": {"containers": [], "volumes": volumes}}),
            )
            .unwrap(),
        )
    }

    #[test]
    fn a_one_pod_claim_in_use_keeps_the_pod_off_every_node() {
        let claim = json!([{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]);
        let mut node = NodeInfo::default();
        node.add_entry("first", PodEntry::of(&pod("first", claim.clone())));
        let empty = NodeInfo::default();
        let mut second = pod("second", claim);
        second.one_pod_claims = vec!["d/data".into()];
        let state = VolumeRestrictions.prepare(&second, &[&node, &empty]);
        assert_eq!(
            VolumeRestrictions.filter_with(&state, &second, &empty),
            Status::unschedulable(ONE_POD_CONFLICT)
        );
        // The claim allows many pods: no conflict.
        second.one_pod_claims.clear();
        let state = VolumeRestrictions.prepare(&second, &[&node, &empty]);
        assert!(
            VolumeRestrictions
                .filter_with(&state, &second, &empty)
                .is_success()
        );
    }

    #[test]
    fn disks_one_node_cannot_share() {
        let gce = |read_only: bool| json!([{"name": "d", "gcePersistentDisk": {"pdName": "disk-1", "readOnly": read_only}}]);
        let mut node = NodeInfo::default();
        node.add_entry("a", PodEntry::of(&pod("a", gce(true))));
        assert!(
            VolumeRestrictions
                .filter(&pod("b", gce(true)), &node)
                .is_success(),
            "read-only users share"
        );
        assert_eq!(
            VolumeRestrictions.filter(&pod("c", gce(false)), &node),
            Status::unschedulable(DISK_CONFLICT)
        );
        let iscsi =
            json!([{"name": "d", "iscsi": {"targetPortal": "t", "iqn": "iqn.x", "lun": 0}}]);
        node.add_entry("i", PodEntry::of(&pod("i", iscsi.clone())));
        assert_eq!(
            VolumeRestrictions.filter(&pod("j", iscsi), &node),
            Status::unschedulable(DISK_CONFLICT)
        );
        assert!(
            VolumeRestrictions
                .filter(&pod("k", json!([])), &node)
                .is_success()
        );
    }
}
