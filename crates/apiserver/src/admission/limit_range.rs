//! Upstream's LimitRanger for pods: the namespace's LimitRanges of type `Container` fill in
//! containers' missing limits (`default`) and requests (`defaultRequest`, else the limit), say
//! so in the `kubernetes.io/limit-ranger` annotation, and refuse containers outside `min` and
//! `max` with upstream's wording.

use crate::status::ApiError;
use serde_json::{Value, json};

const RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];

fn quantity(value: Option<&Value>) -> Option<f64> {
    value
        .and_then(Value::as_str)
        .and_then(|q| gantry_api::quantity::parse(q).ok())
}

/// Applies the `Container` items of `ranges` to `pod`.
pub fn apply(pod: &mut Value, ranges: &[Value]) -> Result<(), ApiError> {
    let items: Vec<&Value> = ranges
        .iter()
        .flat_map(|r| {
            r.pointer("/spec/limits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("Container"))
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let name = crate::meta::meta_str(pod, "name")
        .unwrap_or_default()
        .to_owned();
    let mut notes = Vec::new();
    let mut violations = Vec::new();
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod
            .pointer_mut(&format!("/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for container in containers {
            let container_name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut set_requests = Vec::new();
            let mut set_limits = Vec::new();
            for item in &items {
                for resource in RESOURCES {
                    let limit_default = item.pointer(&format!("/default/{resource}")).cloned();
                    // A container's own limit is its request (upstream's API defaulting runs
                    // first), else the default request, else the default limit.
                    let request_default = container
                        .pointer(&format!("/resources/limits/{resource}"))
                        .cloned()
                        .or_else(|| {
                            item.pointer(&format!("/defaultRequest/{resource}"))
                                .cloned()
                        })
                        .or_else(|| limit_default.clone());
                    if let Some(default) = limit_default
                        && container
                            .pointer(&format!("/resources/limits/{resource}"))
                            .is_none()
                    {
                        container["resources"]["limits"][*resource] = default;
                        set_limits.push(*resource);
                    }
                    if let Some(default) = request_default
                        && container
                            .pointer(&format!("/resources/requests/{resource}"))
                            .is_none()
                    {
                        container["resources"]["requests"][*resource] = default;
                        set_requests.push(*resource);
                    }
                    let limit =
                        quantity(container.pointer(&format!("/resources/limits/{resource}")));
                    let request =
                        quantity(container.pointer(&format!("/resources/requests/{resource}")));
                    if let Some(max) = item.pointer(&format!("/max/{resource}")) {
                        let shown = max.as_str().unwrap_or_default();
                        match limit {
                            None => violations.push(format!("maximum {resource} usage per Container is {shown}.  No limit is specified")),
                            Some(l) if l > quantity(Some(max)).unwrap_or(f64::MAX) => {
                                let given = container.pointer(&format!("/resources/limits/{resource}")).and_then(Value::as_str).unwrap_or_default();
                                violations.push(format!("maximum {resource} usage per Container is {shown}, but limit is {given}"));
                            }
                            Some(_) => {}
                        }
                    }
                    if let Some(min) = item.pointer(&format!("/min/{resource}")) {
                        let shown = min.as_str().unwrap_or_default();
                        match request {
                            None => violations.push(format!("minimum {resource} usage per Container is {shown}.  No request is specified")),
                            Some(r) if r < quantity(Some(min)).unwrap_or(0.0) => {
                                let given = container.pointer(&format!("/resources/requests/{resource}")).and_then(Value::as_str).unwrap_or_default();
                                violations.push(format!("minimum {resource} usage per Container is {shown}, but request is {given}"));
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
            if !set_requests.is_empty() {
                notes.push(format!(
                    "{} request for {list_kind} {container_name}",
                    set_requests.join(", "),
                    list_kind = kind(list)
                ));
            }
            if !set_limits.is_empty() {
                notes.push(format!(
                    "{} limit for {list_kind} {container_name}",
                    set_limits.join(", "),
                    list_kind = kind(list)
                ));
            }
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::forbidden(
            "",
            "pods",
            &name,
            &format!("[{}]", violations.join(", ")),
        ));
    }
    if !notes.is_empty() {
        pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] =
            json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
    }
    Ok(())
}

fn kind(list: &str) -> &'static str {
    if list == "initContainers" {
        "init container"
    } else {
        "container"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range() -> Value {
        json!({"spec": {"limits": [{"type": "Container",
            "default": {"cpu": "500m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "100m"},
            "max": {"cpu": "1"}}]}})
    }

    #[test]
    fn defaults_fill_in_what_containers_leave_out() {
        // b's own cpu limit becomes its request, as upstream's defaulting makes it.
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a"},
            {"name": "b", "resources": {"limits": {"cpu": "800m"}}},
        ]}});
        apply(&mut pod, &[range()]).unwrap();
        let a = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(a["limits"], json!({"cpu": "500m", "memory": "128Mi"}));
        assert_eq!(a["requests"], json!({"cpu": "100m", "memory": "128Mi"}));
        assert_eq!(
            pod["spec"]["containers"][1]["resources"]["limits"]["cpu"],
            "800m"
        );
        assert_eq!(
            pod["spec"]["containers"][1]["resources"]["requests"]["cpu"],
            "800m"
        );
        assert_eq!(
            pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; cpu, memory request for container b; memory limit for container b"
        );
    }

    #[test]
    fn limits_above_the_maximum_are_refused() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "2"}}},
        ]}});
        let refused = apply(&mut pod, &[range()]).unwrap_err();
        assert_eq!(refused.code, 403);
        assert_eq!(
            refused.message,
            r#"pods "p" is forbidden: [maximum cpu usage per Container is 1, but limit is 2]"#
        );
    }
}
