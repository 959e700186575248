//! Whether a webhook wants a write: its `rules` (operations, API groups, versions, resources
//! with `*` and `<resource>/*` forms, scope), its `namespaceSelector` (on the namespace's
//! labels; cluster-scoped objects other than namespaces always match) and its
//! `objectSelector` (on the object's, or the old object's, labels).

use gantry_api::catalogue::Resource;
use gantry_api::selector::LabelSelector;
use serde_json::Value;
use std::collections::BTreeMap;

/// What is being written.
#[derive(Debug)]
pub struct Asked<'a> {
    /// The resource.
    pub resource: &'static Resource,
    /// The subresource, if any.
    pub subresource: Option<&'a str>,
    /// `CREATE` or `UPDATE`.
    pub operation: &'a str,
    /// The namespace's labels (`null` for cluster-scoped objects).
    pub namespace_labels: &'a Value,
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn has(list: &[&str], wanted: &str) -> bool {
    list.iter().any(|x| *x == "*" || *x == wanted)
}

fn rule_matches(rule: &Value, asked: &Asked<'_>) -> bool {
    let resource = asked.resource;
    let operations = strings(rule.get("operations"));
    if !has(&operations, asked.operation) {
        return false;
    }
    if !has(&strings(rule.get("apiGroups")), resource.group)
        || !has(&strings(rule.get("apiVersions")), resource.version)
    {
        return false;
    }
    let resources = strings(rule.get("resources"));
    let resource_ok = resources
        .iter()
        .any(|r| match (r.split_once('/'), asked.subresource) {
            (None, None) => *r == "*" || *r == resource.plural,
            (None, Some(_)) => false,
            (Some((res, sub)), Some(asked_sub)) => {
                (res == "*" || res == resource.plural) && (sub == "*" || sub == asked_sub)
            }
            (Some((res, "*")), None) => res == "*" || res == resource.plural,
            (Some(_), None) => false,
        });
    if !resource_ok {
        return false;
    }
    match rule.get("scope").and_then(Value::as_str).unwrap_or("*") {
        "Cluster" => !resource.namespaced,
        "Namespaced" => resource.namespaced,
        _ => true,
    }
}

fn labels(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn selector_matches(selector: Option<&Value>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return true;
    };
    LabelSelector::from_label_selector_json(selector).is_ok_and(|s| s.matches(labels))
}

/// Whether `webhook` is called for this write of `object` (replacing `old`).
pub fn matches(webhook: &Value, asked: &Asked<'_>, object: &Value, old: Option<&Value>) -> bool {
    let rules = webhook.get("rules").and_then(Value::as_array);
    if !rules.is_some_and(|rules| rules.iter().any(|rule| rule_matches(rule, asked))) {
        return false;
    }
    let namespace_selector = webhook.get("namespaceSelector");
    // A delete has only the old object.
    let subject = match old {
        Some(old) if object.is_null() => old,
        _ => object,
    };
    let namespace_ok = if asked.resource.namespaced {
        selector_matches(namespace_selector, &labels(asked.namespace_labels))
    } else if (asked.resource.group, asked.resource.plural) == ("", "namespaces") {
        selector_matches(
            namespace_selector,
            &labels(subject.pointer("/metadata/labels").unwrap_or(&Value::Null)),
        )
    } else {
        true
    };
    if !namespace_ok {
        return false;
    }
    let object_selector = webhook.get("objectSelector");
    let of = |v: &Value| labels(v.pointer("/metadata/labels").unwrap_or(&Value::Null));
    selector_matches(object_selector, &of(object))
        || old.is_some_and(|old| selector_matches(object_selector, &of(old)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn asked(plural: &str, operation: &'static str, labels: &'static Value) -> Asked<'static> {
        Asked {
            resource: gantry_api::catalogue::find(
                if plural == "deployments" { "apps" } else { "" },
                "v1",
                plural,
            )
            .unwrap(),
            subresource: None,
            operation,
            namespace_labels: labels,
        }
    }

    #[test]
    fn rules_and_selectors_pick_the_writes() {
        static NONE: Value = Value::Null;
        let webhook = json!({
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "objectSelector": {"matchLabels": {"checked": "yes"}},
        });
        let labelled = json!({"metadata": {"labels": {"checked": "yes"}}});
        let plain = json!({"metadata": {}});
        assert!(matches(
            &webhook,
            &asked("pods", "CREATE", &NONE),
            &labelled,
            None
        ));
        assert!(!matches(
            &webhook,
            &asked("pods", "CREATE", &NONE),
            &plain,
            None
        ));
        assert!(!matches(
            &webhook,
            &asked("pods", "UPDATE", &NONE),
            &labelled,
            None
        ));
        assert!(!matches(
            &webhook,
            &asked("configmaps", "CREATE", &NONE),
            &labelled,
            None
        ));
        let everything = json!({"rules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "scope": "Namespaced"}],
            "namespaceSelector": {"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]}});
        static SKIPPED: std::sync::LazyLock<Value> =
            std::sync::LazyLock::new(|| json!({"skip": "true"}));
        assert!(matches(
            &everything,
            &asked("deployments", "UPDATE", &NONE),
            &plain,
            None
        ));
        assert!(!matches(
            &everything,
            &asked("deployments", "UPDATE", &SKIPPED),
            &plain,
            None
        ));
        assert!(
            !matches(&everything, &asked("nodes", "CREATE", &NONE), &plain, None),
            "cluster scope excluded"
        );
    }
}
