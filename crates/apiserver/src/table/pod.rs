//! Pods (upstream's `printPod`): readiness, the aggregate status and the restart count.
//!
//! The STATUS cell is the pod's phase, overridden in this order, later steps winning:
//! 1. `status.reason` (`Evicted`), then `SchedulingGated` while a scheduling gate holds it;
//! 2. the first init container that has not completed: `Init:<reason>` for a failure or a
//!    waiting reason other than `PodInitializing`, `Init:Signal:<n>` / `Init:ExitCode:<n>` for
//!    a failure without a reason, `Init:<i>/<n>` otherwise. Sidecars (init containers with
//!    `restartPolicy: Always`) that have started count as done;
//! 3. once initialised, the app containers, the *first* one with a waiting or terminated state
//!    winning (`CrashLoopBackOff`, `Completed`, `Signal:<n>`, `ExitCode:<n>`); `Completed`
//!    turns back into `Running` (or `NotReady`) while another container still runs;
//! 4. `Terminating` for a pod being deleted that has not finished, or `Unknown` for one whose
//!    node was lost.
//!
//! RESTARTS sums the restarts of the containers counted above and, when there were any, adds
//! how long ago the last one ended: `4 (2m ago)`.

use super::format::{condition, items, or, text, timestamp};
use super::{AGE, Column, NAME, Printer, docs, format};
use serde_json::{Value, json};

pub(super) const PODS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Ready",
            "string",
            "The ready column, computed as upstream's printer does.",
        ),
        Column::new(
            "Status",
            "string",
            "The status column, computed as upstream's printer does.",
        ),
        Column::new(
            "Restarts",
            "string",
            "The restarts column, computed as upstream's printer does.",
        ),
        AGE,
        Column::new("IP", "string", docs::POD_STATUS_POD_IP).wide(),
        Column::new("Node", "string", docs::POD_SPEC_NODE_NAME).wide(),
        Column::new(
            "Nominated Node",
            "string",
            docs::POD_STATUS_NOMINATED_NODE_NAME,
        )
        .wide(),
        Column::new("Readiness Gates", "string", docs::POD_SPEC_READINESS_GATES).wide(),
    ],
    cells,
};

/// The reason upstream's node controller gives pods on a lost node.
const NODE_LOST: &str = "NodeLost";

/// The container state at `pointer` (`/state/terminated`), if it is set.
fn state<'a>(status: &'a Value, pointer: &str) -> Option<&'a Value> {
    status.pointer(pointer).filter(|s| s.is_object())
}

/// The reason a terminated container without one is shown with: its signal, else its exit code.
fn exit_reason(terminated: &Value) -> String {
    match terminated["signal"].as_i64().filter(|s| *s != 0) {
        Some(signal) => format!("Signal:{signal}"),
        None => format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0)),
    }
}

/// Restarts counted so far and when the latest of them ended.
#[derive(Debug, Default, Clone, Copy)]
struct Restarts {
    count: i64,
    last: Option<u64>,
}

impl Restarts {
    fn add(&mut self, status: &Value) {
        self.count += status["restartCount"].as_i64().unwrap_or(0);
        if let Some(finished) = timestamp(status, "/lastState/terminated/finishedAt") {
            self.last = Some(self.last.map_or(finished, |last| last.max(finished)));
        }
    }

    fn cell(self) -> String {
        match self.last {
            Some(last) if self.count != 0 => {
                format!("{} ({} ago)", self.count, super::since(last))
            }
            _ => self.count.to_string(),
        }
    }
}

fn cells(pod: &Value) -> Vec<Value> {
    let phase = text(pod, "/status/phase");
    let mut reason = or(text(pod, "/status/reason"), phase);
    let gated = items(pod, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated");
    if gated {
        reason = "SchedulingGated".to_owned();
    }

    let init_specs = items(pod, "/spec/initContainers");
    let is_sidecar = |name: &Value| {
        init_specs
            .iter()
            .rev()
            .find(|c| c["name"] == *name)
            .is_some_and(|c| c["restartPolicy"] == "Always")
    };
    let sidecars = init_specs
        .iter()
        .filter(|c| c["restartPolicy"] == "Always")
        .count();
    let total = items(pod, "/spec/containers").len() + sidecars;
    let mut ready = 0;

    let mut restarts = Restarts::default();
    let mut sidecar_restarts = Restarts::default();
    let mut initializing = false;
    for (i, status) in items(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        restarts.add(status);
        let sidecar = is_sidecar(&status["name"]);
        if sidecar {
            sidecar_restarts.add(status);
        }
        let terminated = state(status, "/state/terminated");
        let waiting_reason = text(status, "/state/waiting/reason");
        if terminated.is_some_and(|t| t["exitCode"].as_i64().unwrap_or(0) == 0) {
            continue;
        }
        if sidecar && status["started"] == true {
            if status["ready"] == true {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(terminated) = terminated {
            match terminated["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(why) => format!("Init:{why}"),
                None => format!("Init:{}", exit_reason(terminated)),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition(pod, "/status/conditions", "Initialized") == "True" {
        restarts = sidecar_restarts;
        let mut running = false;
        // Backwards, so that the first container's state is the one that sticks.
        for status in items(pod, "/status/containerStatuses").iter().rev() {
            restarts.add(status);
            let waiting = text(status, "/state/waiting/reason");
            let terminated = state(status, "/state/terminated");
            if !waiting.is_empty() {
                reason = waiting.to_owned();
            } else if let Some(terminated) = terminated {
                reason = match terminated["reason"].as_str().filter(|r| !r.is_empty()) {
                    Some(why) => why.to_owned(),
                    None => exit_reason(terminated),
                };
            } else if status["ready"] == true && state(status, "/state/running").is_some() {
                running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && running {
            reason = if condition(pod, "/status/conditions", "Ready") == "True" {
                "Running".to_owned()
            } else {
                "NotReady".to_owned()
            };
        }
    }

    if format::is_set(pod, "/metadata/deletionTimestamp") {
        if text(pod, "/status/reason") == NODE_LOST {
            reason = "Unknown".to_owned();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_owned();
        }
    }

    let pod_ip = items(pod, "/status/podIPs")
        .first()
        .and_then(|ip| ip["ip"].as_str())
        .unwrap_or("");
    vec![
        format::name(pod),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.cell()),
        format::age(pod),
        json!(or(pod_ip, "<none>")),
        json!(or(text(pod, "/spec/nodeName"), "<none>")),
        json!(or(text(pod, "/status/nominatedNodeName"), "<none>")),
        json!(readiness_gates(pod)),
    ]
}

/// `true/total` readiness gates whose condition is `True`; `<none>` without gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = items(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return "<none>".to_owned();
    }
    let met = gates
        .iter()
        .filter(|gate| {
            let kind = gate["conditionType"].as_str().unwrap_or("");
            condition(pod, "/status/conditions", kind) == "True"
        })
        .count();
    format!("{met}/{}", gates.len())
}

/// The row condition upstream marks finished pods with (`Completed`, reason the phase).
pub(super) fn conditions(pod: &Value) -> Option<Value> {
    let message = match text(pod, "/status/phase") {
        "Succeeded" => "The pod has completed successfully.",
        "Failed" => "The pod failed.",
        _ => return None,
    };
    Some(json!([{
        "type": "Completed",
        "status": "True",
        "reason": text(pod, "/status/phase"),
        "message": message,
    }]))
}
