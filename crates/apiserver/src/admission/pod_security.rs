//! Upstream's PodSecurity admission: a namespace's `pod-security.kubernetes.io/enforce` label
//! (`privileged`, `baseline`, `restricted`) refuses pods that break that Pod Security
//! Standard, `…/warn` only warns, with upstream's wording (`violates PodSecurity
//! "restricted:latest": privileged (container "c" must not set
//! securityContext.privileged=true), …`). Baseline checks come first, then restricted ones;
//! the restricted capability and seccomp checks replace their baseline forms. Every version
//! label is read as `latest`; `audit` has no audit log to write to.

use serde_json::Value;

/// A Pod Security Standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Anything goes.
    Privileged,
    /// No known privilege escalations.
    Baseline,
    /// Hardened.
    Restricted,
}

impl Level {
    /// The level a label value names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "privileged" => Some(Self::Privileged),
            "baseline" => Some(Self::Baseline),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

/// The capabilities baseline allows adding.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The volume types restricted allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn containers(pod: &Value) -> Vec<&Value> {
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

fn name(container: &Value) -> String {
    container
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `container "a"` or `containers "a", "b"`.
fn named(kind: &str, names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let plural = if names.len() == 1 { "" } else { "s" };
    format!("{kind}{plural} {}", quoted.join(", "))
}

/// `title (containers "a", "b" <what>)` when some containers fail `bad`.
fn per_container(
    pod: &Value,
    title: &str,
    what: &str,
    bad: impl Fn(&Value) -> bool,
) -> Option<String> {
    let failing: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| bad(c))
        .map(name)
        .collect();
    (!failing.is_empty()).then(|| format!("{title} ({} {what})", named("container", &failing)))
}

fn context<'a>(container: &'a Value, field: &str) -> Option<&'a Value> {
    container.pointer(&format!("/securityContext/{field}"))
}

fn pod_context<'a>(pod: &'a Value, field: &str) -> Option<&'a Value> {
    pod.pointer(&format!("/spec/securityContext/{field}"))
}

fn baseline(pod: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let hosts: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|f| pod.pointer(&format!("/spec/{f}")) == Some(&Value::Bool(true)))
        .map(|f| format!("{f}=true"))
        .collect();
    if !hosts.is_empty() {
        found.push(format!("host namespaces ({})", hosts.join(", ")));
    }
    found.extend(per_container(
        pod,
        "privileged",
        "must not set securityContext.privileged=true",
        |c| context(c, "privileged") == Some(&Value::Bool(true)),
    ));
    let volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let host_paths: Vec<String> = volumes
        .filter(|v| v.get("hostPath").is_some())
        .map(name)
        .collect();
    if !host_paths.is_empty() {
        found.push(format!(
            "hostPath volumes ({})",
            named("volume", &host_paths)
        ));
    }
    let mut ports = Vec::new();
    for container in containers(pod) {
        for port in container
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(host) = port
                .get("hostPort")
                .and_then(Value::as_i64)
                .filter(|p| *p != 0)
            {
                ports.push((name(container), host));
            }
        }
    }
    if !ports.is_empty() {
        let names: Vec<String> = ports.iter().map(|(n, _)| n.clone()).collect();
        let numbers: Vec<String> = ports.iter().map(|(_, p)| p.to_string()).collect();
        let which = if numbers.len() == 1 {
            "hostPort"
        } else {
            "hostPorts"
        };
        found.push(format!(
            "hostPort ({} {} {})",
            named("container", &names),
            if names.len() == 1 { "uses" } else { "use" },
            format_args!("{which} {}", numbers.join(", "))
        ));
    }
    found
}

fn baseline_capabilities(pod: &Value) -> Option<String> {
    let mut bad = Vec::new();
    for container in containers(pod) {
        for cap in context(container, "capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(cap) = cap.as_str().filter(|c| !BASELINE_CAPABILITIES.contains(c)) {
                bad.push((name(container), cap.to_owned()));
            }
        }
    }
    (!bad.is_empty()).then(|| {
        let names: Vec<String> = bad.iter().map(|(n, _)| n.clone()).collect();
        let caps: Vec<String> = bad.iter().map(|(_, c)| format!("{c:?}")).collect();
        format!(
            "non-default capabilities ({} must not include {} in securityContext.capabilities.add)",
            named("container", &names),
            caps.join(", ")
        )
    })
}

fn seccomp_type(value: Option<&Value>) -> Option<&str> {
    value.and_then(|v| v.get("type")).and_then(Value::as_str)
}

fn restricted(pod: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut restricted_volumes = Vec::new();
    for volume in volumes {
        if let Some(kind) = volume
            .as_object()
            .and_then(|m| m.keys().find(|k| *k != "name"))
            .filter(|k| !RESTRICTED_VOLUMES.contains(&k.as_str()))
        {
            restricted_volumes.push((name(volume), kind.clone()));
        }
    }
    found.extend(per_container(
        pod,
        "allowPrivilegeEscalation != false",
        "must set securityContext.allowPrivilegeEscalation=false",
        |c| context(c, "allowPrivilegeEscalation") != Some(&Value::Bool(false)),
    ));
    // Restricted capabilities: ALL dropped, nothing but NET_BIND_SERVICE added.
    let not_dropped: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| {
            !context(c, "capabilities/drop")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "ALL"))
        })
        .map(name)
        .collect();
    let mut added = Vec::new();
    for container in containers(pod) {
        for cap in context(container, "capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(cap) = cap.as_str().filter(|c| *c != "NET_BIND_SERVICE") {
                added.push((name(container), cap.to_owned()));
            }
        }
    }
    if !not_dropped.is_empty() || !added.is_empty() {
        let mut parts = Vec::new();
        if !not_dropped.is_empty() {
            parts.push(format!(
                "{} must set securityContext.capabilities.drop=[\"ALL\"]",
                named("container", &not_dropped)
            ));
        }
        if !added.is_empty() {
            let names: Vec<String> = added.iter().map(|(n, _)| n.clone()).collect();
            let caps: Vec<String> = added.iter().map(|(_, c)| format!("{c:?}")).collect();
            parts.push(format!(
                "{} must not include {} in securityContext.capabilities.add",
                named("container", &names),
                caps.join(", ")
            ));
        }
        found.push(format!("unrestricted capabilities ({})", parts.join("; ")));
    }
    if !restricted_volumes.is_empty() {
        let names: Vec<String> = restricted_volumes.iter().map(|(n, _)| n.clone()).collect();
        let kinds: Vec<String> = restricted_volumes
            .iter()
            .map(|(_, k)| format!("{k:?}"))
            .collect();
        let uses = if names.len() == 1 {
            "uses restricted volume type"
        } else {
            "use restricted volume types"
        };
        found.push(format!(
            "restricted volume types ({} {uses} {})",
            named("volume", &names),
            kinds.join(", ")
        ));
    }
    let pod_non_root = pod_context(pod, "runAsNonRoot") == Some(&Value::Bool(true));
    let non_root_missing: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| match context(c, "runAsNonRoot") {
            Some(Value::Bool(v)) => !v,
            _ => !pod_non_root,
        })
        .map(name)
        .collect();
    if !non_root_missing.is_empty() {
        let who = if pod_non_root {
            named("container", &non_root_missing)
        } else {
            format!("pod or {}", named("container", &non_root_missing))
        };
        found.push(format!(
            "runAsNonRoot != true ({who} must set securityContext.runAsNonRoot=true)"
        ));
    }
    found.extend(per_container(
        pod,
        "runAsUser=0",
        "must not set runAsUser=0",
        |c| context(c, "runAsUser").and_then(Value::as_i64) == Some(0),
    ));
    let pod_seccomp = seccomp_type(pod_context(pod, "seccompProfile"));
    let seccomp_ok = |t: Option<&str>| matches!(t, Some("RuntimeDefault" | "Localhost"));
    let seccomp_missing: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| match seccomp_type(context(c, "seccompProfile")) {
            Some(t) => !seccomp_ok(Some(t)),
            None => !seccomp_ok(pod_seccomp),
        })
        .map(name)
        .collect();
    if !seccomp_missing.is_empty() {
        let who = if seccomp_ok(pod_seccomp) {
            named("container", &seccomp_missing)
        } else {
            format!("pod or {}", named("container", &seccomp_missing))
        };
        found.push(format!("seccompProfile ({who} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"));
    }
    found
}

/// What `pod` breaks of `level`, in upstream's order and words.
pub fn violations(pod: &Value, level: Level) -> Vec<String> {
    if level == Level::Privileged {
        return Vec::new();
    }
    // Upstream orders checks by id within each level: the baseline capability check
    // (`capabilities_baseline`) comes first, and restricted replaces it with its own.
    if level == Level::Baseline {
        let mut found: Vec<String> = baseline_capabilities(pod).into_iter().collect();
        found.extend(baseline(pod));
        return found;
    }
    let mut found = baseline(pod);
    found.extend(restricted(pod));
    found
}

/// The label of `mode` (`enforce`, `warn`) on a namespace, as a level.
pub fn namespace_level(namespace: &Value, mode: &str) -> Option<Level> {
    namespace
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(format!("pod-security.kubernetes.io/{mode}")))
        .and_then(Value::as_str)
        .and_then(Level::parse)
}

/// `violates PodSecurity "restricted:latest": …` (`would violate` for warnings).
pub fn message(level: Level, found: &[String], warning: bool) -> String {
    let verb = if warning { "would violate" } else { "violates" };
    format!(
        "{verb} PodSecurity \"{}:latest\": {}",
        level.name(),
        found.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_privileged_pod_breaks_restricted_as_upstream_words_it() {
        let pod = json!({"spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]}});
        let found = violations(&pod, Level::Restricted);
        assert_eq!(
            message(Level::Restricted, &found, false),
            r#"violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
        );
        assert_eq!(
            violations(&pod, Level::Baseline),
            vec![
                r#"privileged (container "c" must not set securityContext.privileged=true)"#
                    .to_owned()
            ]
        );
        assert!(violations(&pod, Level::Privileged).is_empty());
    }

    #[test]
    fn a_hardened_pod_passes_restricted() {
        let pod = json!({"spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}],
        }});
        assert!(
            violations(&pod, Level::Restricted).is_empty(),
            "{:?}",
            violations(&pod, Level::Restricted)
        );
    }

    #[test]
    fn baseline_catches_host_access() {
        let pod = json!({"spec": {
            "hostNetwork": true,
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
            "containers": [
                {"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}], "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
                {"name": "b"},
            ],
        }});
        assert_eq!(
            violations(&pod, Level::Baseline),
            vec![
                r#"non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add)"#.to_owned(),
                "host namespaces (hostNetwork=true)".to_owned(),
                r#"hostPath volumes (volume "root")"#.to_owned(),
                r#"hostPort (container "a" uses hostPort 80)"#.to_owned(),
            ]
        );
    }
}
