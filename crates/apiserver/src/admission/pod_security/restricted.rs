//! The restricted standard's own checks, on top of baseline's: no privilege escalation, every
//! capability dropped, only the volume types a pod cannot escape through, a non-root user, and
//! a seccomp profile.

use super::Finding;
use super::text::{
    bad_setters, containers, context, join_quote, name, named, pluralize, pod_context,
};
use serde_json::Value;

/// The volume types restricted allows.
const VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

pub(super) fn allow_privilege_escalation(pod: &Value, _minor: u32) -> Option<Finding> {
    let names: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| context(c, "allowPrivilegeEscalation") != Some(&Value::Bool(false)))
        .map(name)
        .collect();
    (!names.is_empty()).then(|| {
        Finding::new(
            "allowPrivilegeEscalation != false",
            format!(
                "{} must set securityContext.allowPrivilegeEscalation=false",
                named("container", &names)
            ),
        )
    })
}

/// Every capability dropped (`ALL`), none added but `NET_BIND_SERVICE`.
pub(super) fn capabilities(pod: &Value, _minor: u32) -> Option<Finding> {
    let not_dropped: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| {
            !context(c, "capabilities/drop")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "ALL"))
        })
        .map(name)
        .collect();
    let mut adders = Vec::new();
    let mut added = Vec::new();
    for container in containers(pod) {
        let bad: Vec<String> = context(container, "capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|c| *c != "NET_BIND_SERVICE")
            .map(str::to_owned)
            .collect();
        if !bad.is_empty() {
            adders.push(name(container));
            added.extend(bad);
        }
    }
    if not_dropped.is_empty() && adders.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !not_dropped.is_empty() {
        parts.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            named("container", &not_dropped)
        ));
    }
    if !adders.is_empty() {
        added.sort();
        added.dedup();
        parts.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            named("container", &adders),
            join_quote(&added)
        ));
    }
    Some(Finding::new("unrestricted capabilities", parts.join("; ")))
}

pub(super) fn volumes(pod: &Value, _minor: u32) -> Option<Finding> {
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    for volume in pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(kind) = volume
            .as_object()
            .and_then(|m| m.keys().find(|k| *k != "name"))
            .filter(|k| !VOLUMES.contains(&k.as_str()))
        {
            names.push(name(volume));
            kinds.push(kind.clone());
        }
    }
    if names.is_empty() {
        return None;
    }
    kinds.sort();
    kinds.dedup();
    Some(Finding::new(
        "restricted volume types",
        format!(
            "{} {} {}",
            named("volume", &names),
            pluralize(
                "uses restricted volume type",
                "use restricted volume types",
                names.len()
            ),
            join_quote(&kinds)
        ),
    ))
}

pub(super) fn run_as_non_root(pod: &Value, _minor: u32) -> Option<Finding> {
    let pod_non_root = pod_context(pod, "runAsNonRoot") == Some(&Value::Bool(true));
    let missing: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| match context(c, "runAsNonRoot") {
            Some(Value::Bool(v)) => !v,
            _ => !pod_non_root,
        })
        .map(name)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let who = if pod_non_root {
        named("container", &missing)
    } else {
        format!("pod or {}", named("container", &missing))
    };
    Some(Finding::new(
        "runAsNonRoot != true",
        format!("{who} must set securityContext.runAsNonRoot=true"),
    ))
}

pub(super) fn run_as_user(pod: &Value, _minor: u32) -> Option<Finding> {
    let who = bad_setters(pod, "runAsUser", |v| v.and_then(Value::as_i64) == Some(0))?;
    Some(Finding::new(
        "runAsUser=0",
        format!("{who} must not set runAsUser=0"),
    ))
}

pub(super) fn seccomp(pod: &Value, _minor: u32) -> Option<Finding> {
    fn profile_type(v: Option<&Value>) -> Option<&str> {
        v.and_then(|p| p.get("type")).and_then(Value::as_str)
    }
    let ok = |t: Option<&str>| matches!(t, Some("RuntimeDefault" | "Localhost"));
    let pod_type = profile_type(pod_context(pod, "seccompProfile"));
    let missing: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| match profile_type(context(c, "seccompProfile")) {
            Some(t) => !ok(Some(t)),
            None => !ok(pod_type),
        })
        .map(name)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let who = if ok(pod_type) {
        named("container", &missing)
    } else {
        format!("pod or {}", named("container", &missing))
    };
    Some(Finding::new(
        "seccompProfile",
        format!(
            "{who} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\""
        ),
    ))
}
