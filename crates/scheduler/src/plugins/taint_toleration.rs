//! TaintToleration: a node's `NoSchedule` and `NoExecute` taints keep off pods that do not
//! tolerate them; `PreferNoSchedule` taints lower the node's score by how many of them the pod
//! does not tolerate.

use crate::framework::{Plugin, Status, normalize_to_max};
use crate::info::{NodeInfo, PodInfo};
use k8s_openapi::api::core::v1::Toleration;

pub use gantry_client::predicates::tolerates;

/// The plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }

    fn filter(&self, pod: &PodInfo, node: &NodeInfo) -> Status {
        let untolerated = node
            .taints
            .iter()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .find(|taint| !pod.tolerations().iter().any(|t| tolerates(t, taint)));
        match untolerated {
            Some(taint) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            )),
            None => Status::Success,
        }
    }

    fn scores(&self) -> bool {
        true
    }

    fn score(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let preferring: Vec<&Toleration> = pod
            .tolerations()
            .iter()
            .filter(|t| {
                t.effect
                    .as_deref()
                    .is_none_or(|e| e.is_empty() || e == "PreferNoSchedule")
            })
            .collect();
        node.taints
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule")
            .filter(|taint| !preferring.iter().any(|t| tolerates(t, taint)))
            .count() as i64
    }

    fn normalize(&self, scores: &mut [i64]) {
        normalize_to_max(scores, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Taint;
    use serde_json::json;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    #[test]
    fn untolerated_taints_keep_the_pod_off_with_upstreams_message() {
        let node = NodeInfo {
            taints: std::sync::Arc::from(vec![taint("dedicated", "db", "NoSchedule")]),
            ..NodeInfo::default()
        };
        let pod =
            PodInfo::new(serde_json::from_value(json!({"spec": {"containers": []}})).unwrap());
        assert_eq!(
            TaintToleration.filter(&pod, &node),
            Status::unresolvable("node(s) had untolerated taint {dedicated: db}")
        );
        let tolerant = PodInfo::new(serde_json::from_value(json!({"spec": {"containers": [], "tolerations": [{"key": "dedicated", "operator": "Exists"}]}})).unwrap());
        assert!(TaintToleration.filter(&tolerant, &node).is_success());
    }

    #[test]
    fn prefer_no_schedule_taints_lower_the_score() {
        let pod =
            PodInfo::new(serde_json::from_value(json!({"spec": {"containers": []}})).unwrap());
        let clean = NodeInfo::default();
        let tainted = NodeInfo {
            taints: std::sync::Arc::from(vec![taint("a", "", "PreferNoSchedule")]),
            ..NodeInfo::default()
        };
        let mut scores = [
            TaintToleration.score(&pod, &clean),
            TaintToleration.score(&pod, &tainted),
        ];
        TaintToleration.normalize(&mut scores);
        assert_eq!(scores, [100, 0]);
    }
}
