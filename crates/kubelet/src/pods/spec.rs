//! PodSpec → CRI: the sandbox and container configurations, with the labels and annotations
//! upstream's kubelet puts on them so that other tools (crictl, containerd's own metadata) see
//! the same names.

use crate::pods::runtime_state::{
    CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL,
};
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, Pod};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The pod's identity, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    pub uid: String,
}

impl PodKey {
    /// The key of `pod`.
    pub fn of(pod: &Pod) -> Self {
        Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
        }
    }

    /// `<namespace>/<name>`, for logs.
    pub fn display(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The pod's log directory under `root`, in upstream's layout
    /// (`<namespace>_<name>_<uid>`).
    pub fn log_dir(&self, root: &Path) -> PathBuf {
        root.join(format!("{}_{}_{}", self.namespace, self.name, self.uid))
    }

    fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (POD_NAME_LABEL.to_owned(), self.name.clone()),
            (POD_NAMESPACE_LABEL.to_owned(), self.namespace.clone()),
            (POD_UID_LABEL.to_owned(), self.uid.clone()),
        ])
    }
}

fn namespace_mode(node: bool) -> i32 {
    if node {
        cri::NamespaceMode::Node as i32
    } else {
        cri::NamespaceMode::Pod as i32
    }
}

/// The sandbox for `pod`, its `attempt`th; logs go below `log_root`.
pub fn sandbox_config(
    pod: &Pod,
    attempt: u32,
    log_root: &Path,
    dns: cri::DnsConfig,
) -> cri::PodSandboxConfig {
    let key = PodKey::of(pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let host_network = spec.host_network.unwrap_or(false);
    let mut labels = key.labels();
    for (k, v) in pod.metadata.labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let port_mappings = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host_port = p.host_port.filter(|&h| h > 0)?;
            Some(cri::PortMapping {
                protocol: match p.protocol.as_deref() {
                    Some("UDP") => cri::Protocol::Udp as i32,
                    Some("SCTP") => cri::Protocol::Sctp as i32,
                    _ => cri::Protocol::Tcp as i32,
                },
                container_port: p.container_port,
                host_port,
                host_ip: p.host_ip.clone().unwrap_or_default(),
            })
        })
        .collect();
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: key.name.clone(),
            uid: key.uid.clone(),
            namespace: key.namespace.clone(),
            attempt,
        }),
        hostname: if host_network {
            String::new()
        } else {
            spec.hostname.clone().unwrap_or_else(|| key.name.clone())
        },
        log_directory: key.log_dir(log_root).to_string_lossy().into_owned(),
        dns_config: Some(dns),
        port_mappings,
        labels,
        annotations: pod
            .metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        linux: Some(cri::LinuxPodSandboxConfig {
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(cri::NamespaceOption {
                    network: namespace_mode(host_network),
                    pid: if spec.host_pid.unwrap_or(false) {
                        namespace_mode(true)
                    } else if spec.share_process_namespace.unwrap_or(false) {
                        cri::NamespaceMode::Pod as i32
                    } else {
                        cri::NamespaceMode::Container as i32
                    },
                    ipc: namespace_mode(spec.host_ipc.unwrap_or(false)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What a container needs from outside its spec: resolved environment, mounts and cgroup
/// settings.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The environment, in order, with `$(VAR)` references expanded.
    pub env: Vec<(String, String)>,
    /// Host paths bound into the container.
    pub mounts: Vec<cri::Mount>,
    /// Requests and limits as cgroup settings.
    pub resources: Option<cri::LinuxContainerResources>,
}

/// The `attempt`th instance of `container` in `pod`.
pub fn container_config(
    pod: &Pod,
    container: &Container,
    attempt: u32,
    prepared: &Prepared,
) -> cri::ContainerConfig {
    let key = PodKey::of(pod);
    let mut labels = key.labels();
    labels.insert(CONTAINER_NAME_LABEL.to_owned(), container.name.clone());
    let annotations = HashMap::from([
        (
            "io.kubernetes.container.restartCount".to_owned(),
            attempt.to_string(),
        ),
        (
            "io.kubernetes.container.terminationMessagePath".to_owned(),
            container
                .termination_message_path
                .clone()
                .unwrap_or_else(|| "/dev/termination-log".to_owned()),
        ),
        (
            "io.kubernetes.pod.terminationGracePeriod".to_owned(),
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30)
                .to_string(),
        ),
    ]);
    let vars: HashMap<&str, &str> = prepared
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expand_all = |list: &Option<Vec<String>>| {
        list.iter()
            .flatten()
            .map(|s| expand(s, &vars))
            .collect::<Vec<_>>()
    };
    let security = container.security_context.clone().unwrap_or_default();
    let pod_security = pod
        .spec
        .as_ref()
        .and_then(|s| s.security_context.clone())
        .unwrap_or_default();
    let run_as_user = security.run_as_user.or(pod_security.run_as_user);
    let run_as_group = security.run_as_group.or(pod_security.run_as_group);
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: container.name.clone(),
            attempt,
        }),
        image: Some(cri::ImageSpec {
            image: container.image.clone().unwrap_or_default(),
            ..Default::default()
        }),
        command: expand_all(&container.command),
        args: expand_all(&container.args),
        working_dir: container.working_dir.clone().unwrap_or_default(),
        envs: prepared
            .env
            .iter()
            .map(|(key, value)| cri::KeyValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        mounts: prepared.mounts.clone(),
        labels,
        annotations,
        log_path: format!("{}/{attempt}.log", container.name),
        stdin: container.stdin.unwrap_or(false),
        stdin_once: container.stdin_once.unwrap_or(false),
        tty: container.tty.unwrap_or(false),
        linux: Some(cri::LinuxContainerConfig {
            resources: prepared.resources.clone(),
            security_context: Some(cri::LinuxContainerSecurityContext {
                privileged: security.privileged.unwrap_or(false),
                readonly_rootfs: security.read_only_root_filesystem.unwrap_or(false),
                run_as_user: run_as_user.map(|value| cri::Int64Value { value }),
                run_as_group: run_as_group.map(|value| cri::Int64Value { value }),
                capabilities: security.capabilities.as_ref().map(|c| cri::Capability {
                    add_capabilities: c.add.clone().unwrap_or_default(),
                    drop_capabilities: c.drop.clone().unwrap_or_default(),
                    ..Default::default()
                }),
                namespace_options: Some(cri::NamespaceOption {
                    network: namespace_mode(
                        pod.spec
                            .as_ref()
                            .and_then(|s| s.host_network)
                            .unwrap_or(false),
                    ),
                    pid: cri::NamespaceMode::Container as i32,
                    ipc: cri::NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

/// Expands `$(NAME)` references to variables defined in `vars`, as upstream: `$$` escapes a
/// dollar, and a reference to an undefined variable stays as written.
pub fn expand(input: &str, vars: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match vars.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "labels": {"app": "a"}},
            "spec": {
                "containers": [{
                    "name": "c",
                    "image": "busybox:1.36",
                    "command": ["sh", "-c"],
                    "args": ["echo $(GREETING) $$(HOME) $(MISSING)"],
                    "ports": [{"containerPort": 80, "hostPort": 8080}]
                }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn references_expand_and_escapes_stay_literal() {
        let vars = HashMap::from([("GREETING", "hi")]);
        assert_eq!(
            expand("echo $(GREETING) $$(HOME) $(MISSING) $", &vars),
            "echo hi $(HOME) $(MISSING) $"
        );
    }

    #[test]
    fn the_sandbox_carries_the_pod_identity_and_host_ports() {
        let config = sandbox_config(&pod(), 2, Path::new("/logs"), cri::DnsConfig::default());
        let meta = config.metadata.unwrap();
        assert_eq!(
            (
                meta.name.as_str(),
                meta.namespace.as_str(),
                meta.uid.as_str(),
                meta.attempt
            ),
            ("web", "ns", "u-1", 2)
        );
        assert_eq!(config.log_directory, "/logs/ns_web_u-1");
        assert_eq!(config.labels[POD_UID_LABEL], "u-1");
        assert_eq!(config.labels["app"], "a");
        assert_eq!(config.port_mappings[0].host_port, 8080);
        assert_eq!(config.hostname, "web");
    }

    #[test]
    fn the_container_gets_expanded_arguments_and_its_log_path() {
        let pod = pod();
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let prepared = Prepared {
            env: vec![("GREETING".into(), "hi".into())],
            mounts: vec![],
            resources: None,
        };
        let config = container_config(&pod, container, 3, &prepared);
        assert_eq!(config.command, ["sh", "-c"]);
        assert_eq!(config.args, ["echo hi $(HOME) $(MISSING)"]);
        assert_eq!(config.log_path, "c/3.log");
        assert_eq!(config.labels[CONTAINER_NAME_LABEL], "c");
        assert_eq!(
            config.annotations["io.kubernetes.container.restartCount"],
            "3"
        );
        assert_eq!(config.envs[0].key, "GREETING");
    }
}
