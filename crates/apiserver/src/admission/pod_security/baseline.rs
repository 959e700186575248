//! The baseline standard's checks: no known privilege escalation (host namespaces and paths,
//! privileged containers, extra capabilities, unconfined AppArmor/seccomp, custom SELinux
//! types, unmasked /proc, unsafe sysctls, Windows host processes). Each returns upstream's
//! reason and detail, or nothing.

use super::Finding;
use super::text::{
    bad_setters, containers, context, go_quote, join_quote, name, named, pluralize, pod_context,
    setters, sorted_set,
};
use serde_json::Value;

/// The capabilities baseline allows adding.
const CAPABILITIES: &[&str] = &[
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

const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

pub(super) fn app_armor(pod: &Value, _minor: u32) -> Option<Finding> {
    let allowed = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let profile_type = |profile: &Value| {
        profile
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut values = Vec::new();
    let pod_bad = pod_context(pod, "appArmorProfile")
        .filter(|p| !p.is_null())
        .map(profile_type)
        .filter(|t| !allowed(t));
    let pod_set = pod_bad.is_some();
    values.extend(pod_bad);
    let mut bad_containers = Vec::new();
    for container in containers(pod) {
        if let Some(t) = context(container, "appArmorProfile")
            .filter(|p| !p.is_null())
            .map(profile_type)
            .filter(|t| !allowed(t))
        {
            bad_containers.push(name(container));
            values.push(t);
        }
    }
    let mut annotations: Vec<String> = pod
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(key, _)| key.starts_with(APPARMOR_ANNOTATION))
        .filter_map(|(key, value)| {
            let value = value.as_str().unwrap_or_default();
            let fine =
                value.is_empty() || value == "runtime/default" || value.starts_with("localhost/");
            (!fine).then(|| format!("{key}={}", go_quote(value)))
        })
        .collect();
    annotations.sort();
    let mut listed = sorted_set(values);
    let annotation_count = annotations.len();
    listed.extend(annotations);
    if listed.is_empty() {
        return None;
    }
    let mut who = setters(pod_set, &bad_containers);
    if annotation_count > 0 {
        let noun = pluralize("annotation", "annotations", annotation_count);
        who = if who.is_empty() {
            noun.to_owned()
        } else {
            format!("{who} and {noun}")
        };
    }
    Some(Finding::new(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            listed.len(),
        ),
        format!(
            "{who} must not set AppArmor profile type to {}",
            join_quote(&listed)
        ),
    ))
}

pub(super) fn capabilities(pod: &Value, _minor: u32) -> Option<Finding> {
    let mut names = Vec::new();
    let mut caps = Vec::new();
    for container in containers(pod) {
        let bad: Vec<String> = context(container, "capabilities/add")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|c| !CAPABILITIES.contains(c))
            .map(str::to_owned)
            .collect();
        if !bad.is_empty() {
            names.push(name(container));
            caps.extend(bad);
        }
    }
    (!names.is_empty()).then(|| {
        Finding::new(
            "non-default capabilities",
            format!(
                "{} must not include {} in securityContext.capabilities.add",
                named("container", &names),
                join_quote(&sorted_set(caps))
            ),
        )
    })
}

pub(super) fn host_namespaces(pod: &Value, _minor: u32) -> Option<Finding> {
    let hosts: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|f| pod.pointer(&format!("/spec/{f}")) == Some(&Value::Bool(true)))
        .map(|f| format!("{f}=true"))
        .collect();
    (!hosts.is_empty()).then(|| Finding::new("host namespaces", hosts.join(", ")))
}

pub(super) fn host_path_volumes(pod: &Value, _minor: u32) -> Option<Finding> {
    let volumes: Vec<String> = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("hostPath").is_some())
        .map(name)
        .collect();
    (!volumes.is_empty()).then(|| Finding::new("hostPath volumes", named("volume", &volumes)))
}

pub(super) fn host_ports(pod: &Value, _minor: u32) -> Option<Finding> {
    let mut names = Vec::new();
    let mut ports = Vec::new();
    for container in containers(pod) {
        let found: Vec<String> = container
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|port| port.get("hostPort").and_then(Value::as_i64))
            .filter(|port| *port != 0)
            .map(|port| port.to_string())
            .collect();
        if !found.is_empty() {
            names.push(name(container));
            ports.extend(found);
        }
    }
    (!names.is_empty()).then(|| {
        Finding::new(
            "hostPort",
            format!(
                "{} {} {} {}",
                named("container", &names),
                pluralize("uses", "use", names.len()),
                pluralize("hostPort", "hostPorts", ports.len()),
                ports.join(", ")
            ),
        )
    })
}

pub(super) fn privileged(pod: &Value, _minor: u32) -> Option<Finding> {
    let names: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| context(c, "privileged") == Some(&Value::Bool(true)))
        .map(name)
        .collect();
    (!names.is_empty()).then(|| {
        Finding::new(
            "privileged",
            format!(
                "{} must not set securityContext.privileged=true",
                named("container", &names)
            ),
        )
    })
}

pub(super) fn proc_mount(pod: &Value, _minor: u32) -> Option<Finding> {
    let mut names = Vec::new();
    let mut values = Vec::new();
    for container in containers(pod) {
        if let Some(mount) = context(container, "procMount").and_then(Value::as_str)
            && mount != "Default"
        {
            names.push(name(container));
            values.push(mount.to_owned());
        }
    }
    (!names.is_empty()).then(|| {
        Finding::new(
            "procMount",
            format!(
                "{} must not set securityContext.procMount to {}",
                named("container", &names),
                join_quote(&sorted_set(values))
            ),
        )
    })
}

pub(super) fn se_linux_options(pod: &Value, minor: u32) -> Option<Finding> {
    let allowed_type = |t: &str| {
        matches!(
            t,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (minor >= 31 && t == "container_engine_t")
    };
    let mut types = Vec::new();
    let (mut user, mut role) = (false, false);
    let mut bad = |options: &Value| {
        let text = |key: &str| options.get(key).and_then(Value::as_str).unwrap_or_default();
        let mut failed = false;
        if !allowed_type(text("type")) {
            types.push(text("type").to_owned());
            failed = true;
        }
        if !text("user").is_empty() {
            user = true;
            failed = true;
        }
        if !text("role").is_empty() {
            role = true;
            failed = true;
        }
        failed
    };
    let pod_set = pod_context(pod, "seLinuxOptions")
        .filter(|o| !o.is_null())
        .is_some_and(&mut bad);
    let names: Vec<String> = containers(pod)
        .into_iter()
        .filter(|c| {
            context(c, "seLinuxOptions")
                .filter(|o| !o.is_null())
                .is_some_and(&mut bad)
        })
        .map(name)
        .collect();
    if !pod_set && names.is_empty() {
        return None;
    }
    let mut problems = Vec::new();
    let types = sorted_set(types);
    if !types.is_empty() {
        problems.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if user {
        problems.push("user may not be set".to_owned());
    }
    if role {
        problems.push("role may not be set".to_owned());
    }
    Some(Finding::new(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters(pod_set, &names),
            problems.join("; ")
        ),
    ))
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Unconfined seccomp: by annotation before 1.19, by field since.
pub(super) fn seccomp(pod: &Value, minor: u32) -> Option<Finding> {
    if minor < 19 {
        let annotation = |key: &str| {
            pod.pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let fine = |v: &str| {
            v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
        };
        let mut keys = vec![SECCOMP_POD_ANNOTATION.to_owned()];
        keys.extend(
            containers(pod)
                .into_iter()
                .map(|c| format!("{SECCOMP_CONTAINER_ANNOTATION}{}", name(c))),
        );
        let bad = sorted_set(
            keys.iter()
                .filter_map(|key| {
                    annotation(key)
                        .filter(|v| !fine(v))
                        .map(|v| format!("{key}={}", go_quote(&v)))
                })
                .collect(),
        );
        return (!bad.is_empty()).then(|| {
            Finding::new(
                "seccompProfile",
                format!(
                    "forbidden {} {}",
                    pluralize("annotation", "annotations", bad.len()),
                    bad.join(", ")
                ),
            )
        });
    }
    let unconfined = |profile: Option<&Value>| {
        profile
            .filter(|p| !p.is_null())
            .map(|p| p.get("type").and_then(Value::as_str).unwrap_or_default())
            .filter(|t| !matches!(*t, "RuntimeDefault" | "Localhost"))
            .map(str::to_owned)
    };
    let mut types = Vec::new();
    let pod_type = unconfined(pod_context(pod, "seccompProfile"));
    let pod_set = pod_type.is_some();
    types.extend(pod_type);
    let mut names = Vec::new();
    for container in containers(pod) {
        if let Some(t) = unconfined(context(container, "seccompProfile")) {
            names.push(name(container));
            types.push(t);
        }
    }
    (!types.is_empty()).then(|| {
        Finding::new(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters(pod_set, &names),
                join_quote(&sorted_set(types))
            ),
        )
    })
}

/// The sysctls baseline allows, and the minor version each was allowed from.
const SYSCTLS: &[(&str, u32)] = &[
    ("kernel.shm_rmid_forced", 0),
    ("net.ipv4.ip_local_port_range", 0),
    ("net.ipv4.tcp_syncookies", 0),
    ("net.ipv4.ping_group_range", 0),
    ("net.ipv4.ip_unprivileged_port_start", 0),
    ("net.ipv4.ip_local_reserved_ports", 27),
    ("net.ipv4.tcp_keepalive_time", 29),
    ("net.ipv4.tcp_fin_timeout", 29),
    ("net.ipv4.tcp_keepalive_intvl", 29),
    ("net.ipv4.tcp_keepalive_probes", 29),
    ("net.ipv4.tcp_rmem", 32),
    ("net.ipv4.tcp_wmem", 32),
];

pub(super) fn sysctls(pod: &Value, minor: u32) -> Option<Finding> {
    let forbidden: Vec<String> = pod_context(pod, "sysctls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .filter(|n| {
            !SYSCTLS
                .iter()
                .any(|(allowed, since)| allowed == n && *since <= minor)
        })
        .map(str::to_owned)
        .collect();
    (!forbidden.is_empty()).then(|| Finding::new("forbidden sysctls", forbidden.join(", ")))
}

pub(super) fn windows_host_process(pod: &Value, _minor: u32) -> Option<Finding> {
    let who = bad_setters(pod, "windowsOptions/hostProcess", |v| {
        v == Some(&Value::Bool(true))
    })?;
    Some(Finding::new(
        "hostProcess",
        format!("{who} must not set securityContext.windowsOptions.hostProcess=true"),
    ))
}
