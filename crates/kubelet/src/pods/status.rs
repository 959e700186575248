//! The pod status the node reports, computed from the spec and what the runtime holds, with
//! upstream's phase rules, conditions, container states and reasons.

use crate::pods::runtime_state::{Instance, PodRuntime, State};
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Why a container is waiting, when the node knows better than "ContainerCreating":
/// `ErrImagePull`, `ImagePullBackOff`, `CrashLoopBackOff`, `CreateContainerConfigError`, ...
pub type Waiting = HashMap<String, (String, String)>;

/// Everything the status is computed from.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The pod as the API has it.
    pub pod: &'a Pod,
    /// What the runtime holds for it.
    pub runtime: &'a PodRuntime,
    /// Containers the node holds back, and why.
    pub waiting: &'a Waiting,
    /// The runtime's name for container IDs (`containerd`).
    pub runtime_name: &'a str,
    /// The node's address.
    pub host_ip: &'a str,
    /// When the node first saw the pod.
    pub start_time: &'a str,
    /// Now, for condition transition times.
    pub now: &'a str,
    /// Probe results (readiness, startup).
    pub probes: &'a crate::pods::probes::Probes,
}

fn rfc3339_nanos(nanos: i64) -> Value {
    if nanos <= 0 {
        return Value::Null;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(0);
    Value::String(gantry_api::time::rfc3339(secs))
}

fn terminated(instance: &Instance, runtime_name: &str) -> Value {
    let reason = if instance.reason.is_empty() {
        if instance.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        }
    } else {
        instance.reason.as_str()
    };
    let mut state = json!({
        "exitCode": instance.exit_code,
        "reason": reason,
        "startedAt": rfc3339_nanos(instance.started_at),
        "finishedAt": rfc3339_nanos(instance.finished_at),
        "containerID": format!("{runtime_name}://{}", instance.id),
    });
    if !instance.message.is_empty() {
        state["message"] = json!(instance.message);
    }
    state
}

/// How one container is doing, for the phase and the conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    Running,
    /// Never started yet.
    Waiting,
    /// Exited (waiting to restart or for good); `true` when it exited 0.
    Stopped(bool),
}

fn container_status(
    container: &Container,
    inputs: &Inputs<'_>,
    pending_reason: &str,
) -> (Value, Tally) {
    let latest = inputs.runtime.latest(&container.name);
    let image = container.image.clone().unwrap_or_default();
    let mut status = json!({
        "name": container.name,
        "image": image,
        "imageID": "",
        "ready": false,
        "started": false,
        "restartCount": latest.map_or(0, |i| i.attempt),
        "state": {},
        "lastState": {},
    });
    let held = inputs.waiting.get(&container.name);
    let tally = match latest {
        Some(instance) => {
            status["imageID"] = json!(instance.image_ref);
            status["containerID"] = json!(format!("{}://{}", inputs.runtime_name, instance.id));
            match (instance.state, held) {
                (State::Running, _) => {
                    status["state"] =
                        json!({"running": {"startedAt": rfc3339_nanos(instance.started_at)}});
                    status["ready"] = json!(inputs.probes.ready(container, &instance.id));
                    status["started"] = json!(inputs.probes.started(container, &instance.id));
                    if let Some(previous) = inputs.runtime.previous(&container.name) {
                        status["lastState"] =
                            json!({"terminated": terminated(previous, inputs.runtime_name)});
                    }
                    Tally::Running
                }
                (State::Exited, Some((reason, message))) => {
                    status["state"] = json!({"waiting": {"reason": reason, "message": message}});
                    status["lastState"] =
                        json!({"terminated": terminated(instance, inputs.runtime_name)});
                    Tally::Stopped(instance.exit_code == 0)
                }
                (State::Exited, None) => {
                    status["state"] =
                        json!({"terminated": terminated(instance, inputs.runtime_name)});
                    if let Some(previous) = inputs.runtime.previous(&container.name) {
                        status["lastState"] =
                            json!({"terminated": terminated(previous, inputs.runtime_name)});
                    }
                    Tally::Stopped(instance.exit_code == 0)
                }
                (State::Created | State::Unknown, _) => {
                    status["state"] = json!({"waiting": {"reason": pending_reason}});
                    Tally::Waiting
                }
            }
        }
        None => {
            status["state"] = match held {
                Some((reason, message)) => {
                    json!({"waiting": {"reason": reason, "message": message}})
                }
                None => json!({"waiting": {"reason": pending_reason}}),
            };
            Tally::Waiting
        }
    };
    (status, tally)
}

/// The pod's phase from its containers, as upstream's `getPhase`.
fn phase(
    restart_policy: &str,
    init_failed: bool,
    init_done: bool,
    tallies: &[Tally],
) -> &'static str {
    if init_failed {
        return "Failed";
    }
    if !init_done {
        return "Pending";
    }
    let running = tallies.iter().filter(|t| **t == Tally::Running).count();
    let waiting = tallies.iter().filter(|t| **t == Tally::Waiting).count();
    let stopped = tallies
        .iter()
        .filter(|t| matches!(t, Tally::Stopped(_)))
        .count();
    let succeeded = tallies
        .iter()
        .filter(|t| **t == Tally::Stopped(true))
        .count();
    if waiting > 0 {
        "Pending"
    } else if running > 0 {
        "Running"
    } else if stopped > 0 {
        match restart_policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "OnFailure" => "Running",
            _ => "Failed",
        }
    } else {
        "Pending"
    }
}

/// A condition, keeping its transition time from the pod's current status when unchanged.
fn condition(
    pod: &Pod,
    kind: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: &str,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let previous = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|list| list.iter().find(|c| c.type_ == kind));
    let transition = previous
        .filter(|c| c.status == status)
        .and_then(|c| c.last_transition_time.as_ref())
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or_else(|| json!(now));
    let mut condition = json!({
        "type": kind,
        "status": status,
        "lastProbeTime": null,
        "lastTransitionTime": transition,
    });
    if let Some(reason) = reason {
        condition["reason"] = json!(reason);
    }
    if let Some(message) = message {
        condition["message"] = json!(message);
    }
    condition
}

fn names_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// The `status` object for the pod.
pub fn compute(inputs: &Inputs<'_>) -> Value {
    let pod = inputs.pod;
    let spec = pod.spec.clone().unwrap_or_default();
    let restart_policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".to_owned());
    let sandbox = inputs.runtime.ready_sandbox();

    // Init containers run one after another; the pod is initialized when all exited 0.
    let inits = spec.init_containers.clone().unwrap_or_default();
    let mut init_statuses = Vec::new();
    let mut incomplete = Vec::new();
    let mut init_failed = false;
    for container in &inits {
        let (status, tally) = container_status(container, inputs, "PodInitializing");
        match tally {
            Tally::Stopped(true) => {}
            Tally::Stopped(false) => {
                incomplete.push(container.name.as_str());
                if restart_policy == "Never" {
                    init_failed = true;
                }
            }
            _ => incomplete.push(container.name.as_str()),
        }
        init_statuses.push(status);
    }
    let init_done = incomplete.is_empty();
    let app_pending = if init_done {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let mut statuses = Vec::new();
    let mut tallies = Vec::new();
    let mut unready = Vec::new();
    for container in &spec.containers {
        let (status, tally) = container_status(container, inputs, app_pending);
        if status["ready"] != json!(true) {
            unready.push(container.name.as_str());
        }
        statuses.push(status);
        tallies.push(tally);
    }
    let phase = phase(&restart_policy, init_failed, init_done, &tallies);
    let terminal = matches!(phase, "Succeeded" | "Failed");

    let now = inputs.now;
    let containers_ready = if terminal {
        condition(
            pod,
            "ContainersReady",
            false,
            Some("PodCompleted"),
            None,
            now,
        )
    } else if unready.is_empty() {
        condition(pod, "ContainersReady", true, None, None, now)
    } else {
        condition(
            pod,
            "ContainersReady",
            false,
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: {}",
                names_list(&unready)
            )),
            now,
        )
    };
    let mut ready = containers_ready.clone();
    ready["type"] = json!("Ready");
    if let Some(previous) = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|l| l.iter().find(|c| c.type_ == "Ready"))
        && previous.status == ready["status"]
        && let Some(time) = &previous.last_transition_time
        && let Ok(time) = serde_json::to_value(time)
    {
        ready["lastTransitionTime"] = time;
    }
    let initialized = if init_done {
        condition(pod, "Initialized", true, None, None, now)
    } else {
        condition(
            pod,
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: {}",
                names_list(&incomplete)
            )),
            now,
        )
    };
    let sandbox_ready = condition(
        pod,
        "PodReadyToStartContainers",
        sandbox.is_some(),
        None,
        None,
        now,
    );
    let mut conditions = vec![sandbox_ready, initialized, ready, containers_ready];
    // The scheduler's condition (and any other component's) is kept as it is.
    for other in pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if ![
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
        ]
        .contains(&other.type_.as_str())
            && let Ok(value) = serde_json::to_value(other)
        {
            conditions.push(value);
        }
    }

    let pod_ip = sandbox
        .and_then(|s| s.ip.clone())
        .or_else(|| pod.status.as_ref().and_then(|s| s.pod_ip.clone()));
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": inputs.host_ip,
        "hostIPs": [{"ip": inputs.host_ip}],
        "startTime": inputs.start_time,
        "containerStatuses": statuses,
        "qosClass": qos_class(&spec),
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = Value::Array(init_statuses);
    }
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    status
}

/// Upstream's QoS class: Guaranteed when every container has equal cpu and memory requests and
/// limits, BestEffort when none has any, Burstable otherwise.
pub fn qos_class(spec: &k8s_openapi::api::core::v1::PodSpec) -> &'static str {
    let all = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    let mut any = false;
    let mut guaranteed = true;
    for container in all {
        let resources = container.resources.clone().unwrap_or_default();
        let requests = resources.requests.unwrap_or_default();
        let limits = resources.limits.unwrap_or_default();
        if !requests.is_empty() || !limits.is_empty() {
            any = true;
        }
        for resource in ["cpu", "memory"] {
            match (limits.get(resource), requests.get(resource)) {
                (Some(limit), Some(request)) if limit == request => {}
                (Some(_), None) => {} // a request defaults to its limit
                _ => guaranteed = false,
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests;
