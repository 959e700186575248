//! Node predicates shared by the scheduler and the controllers that place pods themselves
//! (the DaemonSet controller): taints and tolerations, node selector terms.

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration};
use std::collections::BTreeMap;

/// Whether `toleration` tolerates `taint`, as upstream decides: the effects match (an empty
/// effect matches all), and either the operator is `Exists` with a matching or empty key, or
/// the operator is `Equal` (the default) with the same key and value.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" => {
            key == taint.key
                && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

/// Whether a node's value for a requirement's key satisfies it (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`, and the integer comparisons `Gt`, `Lt`).
pub fn requirement_matches(requirement: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = requirement.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(number), values.first().and_then(|x| number(x))), (Some(v), Some(x)) if v > x)
        }
        "Lt" => {
            matches!((value.and_then(number), values.first().and_then(|x| number(x))), (Some(v), Some(x)) if v < x)
        }
        _ => false,
    }
}

/// Whether a node with these labels and name satisfies one node selector term (expressions on
/// labels, fields on `metadata.name`; an empty term matches nothing, as upstream).
pub fn term_matches(
    term: &NodeSelectorTerm,
    labels: &BTreeMap<String, String>,
    name: &str,
) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(name);
            requirement_matches(r, value)
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use serde_json::json;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: Some(value.into()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn toleration(value: serde_json::Value) -> Toleration {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn tolerations_match_as_upstream_documents() {
        let t = taint("gpu", "yes", "NoSchedule");
        assert!(tolerates(
            &toleration(json!({"key": "gpu", "value": "yes"})),
            &t
        ));
        assert!(!tolerates(
            &toleration(json!({"key": "gpu", "value": "no"})),
            &t
        ));
        assert!(tolerates(
            &toleration(json!({"key": "gpu", "operator": "Exists"})),
            &t
        ));
        assert!(tolerates(&toleration(json!({"operator": "Exists"})), &t));
        assert!(!tolerates(
            &toleration(json!({"key": "gpu", "operator": "Exists", "effect": "NoExecute"})),
            &t
        ));
    }

    #[test]
    fn operators_follow_upstream() {
        let requirement = |op: &str, values: &[&str]| NodeSelectorRequirement {
            key: "k".into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        };
        assert!(requirement_matches(&requirement("NotIn", &["a"]), None));
        assert!(requirement_matches(&requirement("Gt", &["5"]), Some("7")));
        assert!(!requirement_matches(&requirement("Lt", &["5"]), Some("7")));
        assert!(requirement_matches(&requirement("DoesNotExist", &[]), None));
        assert!(!requirement_matches(&requirement("Exists", &[]), None));
    }
}
