//! Pod resource arithmetic as upstream's quota and scheduling code does it: a pod's request
//! (or limit) of a resource is the sum over its containers, or its largest init container if
//! that is more, plus its overhead (for a limit, only when one is set); and quantities printed back the way the API prints them.

use serde_json::Value;

fn quantity(map: Option<&Value>, resource: &str) -> f64 {
    map.and_then(|m| m.get(resource))
        .and_then(Value::as_str)
        .and_then(|q| crate::quantity::parse(q).ok())
        .unwrap_or(0.0)
}

/// What the pod (as JSON) asks for in `kind` (`requests` or `limits`) of `resource`.
pub fn pod_total(pod: &Value, kind: &str, resource: &str) -> f64 {
    let Some(spec) = pod.get("spec") else {
        return 0.0;
    };
    let of =
        |container: &Value| quantity(container.pointer(&format!("/resources/{kind}")), resource);
    let list = |field: &str| {
        spec.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    };
    let containers: f64 = list("containers").map(of).sum();
    let init = list("initContainers").map(of).fold(0.0, f64::max);
    let total = containers.max(init);
    // Overhead adds to requests always, to limits only where a limit is set.
    if kind == "limits" && total == 0.0 {
        return 0.0;
    }
    total + quantity(spec.get("overhead"), resource)
}

/// A quantity as the API prints it: CPU in cores or millicores, sizes with the largest binary
/// suffix that divides them, counts as integers.
pub fn format(resource: &str, value: f64) -> String {
    let cpu = resource == "cpu" || resource.ends_with(".cpu");
    if cpu {
        let millis = (value * 1000.0).round() as i64;
        return if millis % 1000 == 0 {
            (millis / 1000).to_string()
        } else {
            format!("{millis}m")
        };
    }
    let whole = value.round() as i64;
    for (suffix, unit) in [
        ("Ti", 1i64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if whole != 0 && whole % unit == 0 {
            return format!("{}{suffix}", whole / unit);
        }
    }
    whole.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn init_containers_count_when_larger_and_overhead_adds() {
        let pod = json!({"spec": {
            "containers": [{"resources": {"requests": {"cpu": "100m"}}}, {"resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "500m"}}}],
            "overhead": {"cpu": "50m"},
        }});
        assert!((pod_total(&pod, "requests", "cpu") - 0.55).abs() < 1e-9);
        assert_eq!(pod_total(&pod, "limits", "cpu"), 0.0);
        assert_eq!(format("requests.cpu", 0.55), "550m");
        assert_eq!(format("memory", 64.0 * 1024.0 * 1024.0), "64Mi");
        assert_eq!(format("pods", 3.0), "3");
    }
}
