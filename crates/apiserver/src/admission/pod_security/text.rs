//! How upstream's checks word what they find: quoted lists, plurals, the pod and its
//! containers as "setters", and Go's `%q` quoting.

use serde_json::Value;

/// Every container of a pod, in upstream's visiting order: init, regular, ephemeral.
pub(super) fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| {
            pod.pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect()
}

/// A container's (or volume's) name.
pub(super) fn name(item: &Value) -> String {
    item.get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A field of a container's security context.
pub(super) fn context<'a>(container: &'a Value, field: &str) -> Option<&'a Value> {
    container.pointer(&format!("/securityContext/{field}"))
}

/// A field of the pod's security context.
pub(super) fn pod_context<'a>(pod: &'a Value, field: &str) -> Option<&'a Value> {
    pod.pointer(&format!("/spec/securityContext/{field}"))
}

/// `singular` for one, `plural` otherwise.
pub(super) fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 { singular } else { plural }
}

/// `"a", "b"` (items are not escaped, as upstream's `joinQuote`).
pub(super) fn join_quote(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    format!("\"{}\"", items.join("\", \""))
}

/// `container "a"` or `containers "a", "b"`.
pub(super) fn named(kind: &str, names: &[String]) -> String {
    format!(
        "{} {}",
        pluralize(kind, &format!("{kind}s"), names.len()),
        join_quote(names)
    )
}

/// `pod and containers "a", "b"`: who set something, the pod first.
pub(super) fn setters(pod: bool, containers: &[String]) -> String {
    let mut parts = Vec::new();
    if pod {
        parts.push("pod".to_owned());
    }
    if !containers.is_empty() {
        parts.push(named("container", containers));
    }
    parts.join(" and ")
}

/// Who sets a security-context field to a value `bad` refuses, pod first (`pod and container
/// "a"`), if anyone does.
pub(super) fn bad_setters(
    pod: &Value,
    field: &str,
    bad: impl Fn(Option<&Value>) -> bool,
) -> Option<String> {
    let pod_set = bad(pod_context(pod, field));
    let names: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| bad(context(c, field)))
        .map(name)
        .collect();
    (pod_set || !names.is_empty()).then(|| setters(pod_set, &names))
}

/// Go's `%q` of `text`: double-quoted, with Go's escapes for quotes, backslashes and control
/// characters.
pub(super) fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                quoted.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Sorted, without repeats (Go's `sets.String.List()`).
pub(super) fn sorted_set(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_upstreams() {
        assert_eq!(named("container", &["a".into()]), r#"container "a""#);
        assert_eq!(
            setters(true, &["a".into(), "b".into()]),
            r#"pod and containers "a", "b""#
        );
        assert_eq!(setters(true, &[]), "pod");
        assert_eq!(go_quote("un\"con\nfined"), r#""un\"con\nfined""#);
        assert_eq!(join_quote(&[]), "");
    }
}
