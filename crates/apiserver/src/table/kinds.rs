//! Printed columns for the kinds beyond the core few in `table.rs`, after upstream's printers
//! (`pkg/printers/internalversion`): one `(columns, cells)` pair per kind.

use super::{AGE, Column, NAME, age, col};
use serde_json::{Value, json};

fn s(object: &Value, pointer: &str) -> String {
    match object.pointer(pointer) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn n(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text
    }
}

/// `k=v,k2=v2` of a label map.
fn pairs(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn containers(object: &Value, pointer: &str) -> (String, String) {
    let list = object
        .pointer(pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = list.iter().filter_map(|c| c["name"].as_str()).collect();
    let images: Vec<&str> = list.iter().filter_map(|c| c["image"].as_str()).collect();
    (names.join(","), images.join(","))
}

fn since(object: &Value, pointer: &str) -> String {
    match object
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(crate::meta::parse_rfc3339)
    {
        Some(t) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            super::human_duration(now.saturating_sub(t))
        }
        None => "<unknown>".to_owned(),
    }
}

const CONTAINERS: Column = col(
    "Containers",
    "string",
    1,
    "Names of each container in the template.",
);
const IMAGES: Column = col(
    "Images",
    "string",
    1,
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = col("Selector", "string", 1, "Label selector for pods.");

/// The columns and cells of a kind, if this module prints it.
pub(super) fn printer(
    group: &str,
    plural: &str,
    object: Option<&Value>,
) -> Option<(Vec<Column>, Vec<Value>)> {
    let o = object.unwrap_or(&Value::Null);
    let name = json!(s(o, "/metadata/name"));
    let age = json!(age(o));
    let template = |o: &Value| containers(o, "/spec/template/spec/containers");
    Some(match (group, plural) {
        ("apps", "replicasets") | ("", "replicationcontrollers") => {
            let (names, images) = template(o);
            let selector = if plural == "replicasets" {
                pairs(o, "/spec/selector/matchLabels")
            } else {
                pairs(o, "/spec/selector")
            };
            (
                vec![
                    NAME,
                    col("Desired", "integer", 0, "Number of desired pods."),
                    col("Current", "integer", 0, "Number of actually running pods."),
                    col("Ready", "integer", 0, "Number of ready pods."),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    SELECTOR,
                ],
                vec![
                    name,
                    json!(object.map_or(1, |o| {
                        o.pointer("/spec/replicas")
                            .and_then(Value::as_i64)
                            .unwrap_or(1)
                    })),
                    json!(n(o, "/status/replicas")),
                    json!(n(o, "/status/readyReplicas")),
                    age,
                    json!(names),
                    json!(images),
                    json!(or_none(selector)),
                ],
            )
        }
        ("apps", "statefulsets") => {
            let (names, images) = template(o);
            let desired = o
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            (
                vec![
                    NAME,
                    col("Ready", "string", 0, "Number of the pod with ready state"),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                ],
                vec![
                    name,
                    json!(format!("{}/{desired}", n(o, "/status/readyReplicas"))),
                    age,
                    json!(names),
                    json!(images),
                ],
            )
        }
        ("apps", "daemonsets") => {
            let (names, images) = template(o);
            (
                vec![
                    NAME,
                    col(
                        "Desired",
                        "integer",
                        0,
                        "The total number of nodes that should be running the daemon pod.",
                    ),
                    col(
                        "Current",
                        "integer",
                        0,
                        "The number of nodes that are running at least 1 daemon pod.",
                    ),
                    col(
                        "Ready",
                        "integer",
                        0,
                        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
                    ),
                    col(
                        "Up-to-date",
                        "integer",
                        0,
                        "The total number of nodes that are running updated daemon pod",
                    ),
                    col(
                        "Available",
                        "integer",
                        0,
                        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
                    ),
                    col(
                        "Node Selector",
                        "string",
                        0,
                        "NodeSelector is a selector which must be true for the pod to fit on a node.",
                    ),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    SELECTOR,
                ],
                vec![
                    name,
                    json!(n(o, "/status/desiredNumberScheduled")),
                    json!(n(o, "/status/currentNumberScheduled")),
                    json!(n(o, "/status/numberReady")),
                    json!(n(o, "/status/updatedNumberScheduled")),
                    json!(n(o, "/status/numberAvailable")),
                    json!(or_none(pairs(o, "/spec/template/spec/nodeSelector"))),
                    age,
                    json!(names),
                    json!(images),
                    json!(or_none(pairs(o, "/spec/selector/matchLabels"))),
                ],
            )
        }
        ("batch", "jobs") => {
            let (names, images) = template(o);
            let completions = o.pointer("/spec/completions").and_then(Value::as_i64);
            let succeeded = n(o, "/status/succeeded");
            let done = match completions {
                Some(c) => format!("{succeeded}/{c}"),
                None => format!(
                    "{succeeded}/1 of {}",
                    o.pointer("/spec/parallelism")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ),
            };
            let condition = |t: &str| {
                o.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|c| c["type"] == t && c["status"] == "True"))
            };
            let status = if condition("Complete") {
                "Complete"
            } else if condition("Failed") {
                "Failed"
            } else if o.pointer("/spec/suspend") == Some(&json!(true)) {
                "Suspended"
            } else {
                "Running"
            };
            let duration = match (
                o.pointer("/status/startTime")
                    .and_then(Value::as_str)
                    .and_then(crate::meta::parse_rfc3339),
                o.pointer("/status/completionTime")
                    .and_then(Value::as_str)
                    .and_then(crate::meta::parse_rfc3339),
            ) {
                (Some(start), Some(end)) => super::human_duration(end.saturating_sub(start)),
                (Some(_), None) => since(o, "/status/startTime"),
                _ => String::new(),
            };
            (
                vec![
                    NAME,
                    col("Status", "string", 0, "Status of the job."),
                    col(
                        "Completions",
                        "string",
                        0,
                        "The completion status of the job.",
                    ),
                    col(
                        "Duration",
                        "string",
                        0,
                        "Time required to complete the job.",
                    ),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    SELECTOR,
                ],
                vec![
                    name,
                    json!(status),
                    json!(done),
                    json!(duration),
                    age,
                    json!(names),
                    json!(images),
                    json!(or_none(pairs(o, "/spec/selector/matchLabels"))),
                ],
            )
        }
        ("batch", "cronjobs") => {
            let (names, images) = containers(o, "/spec/jobTemplate/spec/template/spec/containers");
            let active = o
                .pointer("/status/active")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let last = if o.pointer("/status/lastScheduleTime").is_some() {
                since(o, "/status/lastScheduleTime")
            } else {
                "<none>".to_owned()
            };
            (
                vec![
                    NAME,
                    col("Schedule", "string", 0, "The schedule in Cron format."),
                    col(
                        "Timezone",
                        "string",
                        0,
                        "The time zone name for the given schedule.",
                    ),
                    col(
                        "Suspend",
                        "boolean",
                        0,
                        "Whether subsequent executions are suspended.",
                    ),
                    col(
                        "Active",
                        "integer",
                        0,
                        "A list of pointers to currently running jobs.",
                    ),
                    col(
                        "Last Schedule",
                        "string",
                        0,
                        "Information when was the last time the job was successfully scheduled.",
                    ),
                    AGE,
                    CONTAINERS,
                    IMAGES,
                    SELECTOR,
                ],
                vec![
                    name,
                    json!(s(o, "/spec/schedule")),
                    json!(or_none(s(o, "/spec/timeZone"))),
                    json!(
                        o.pointer("/spec/suspend")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    ),
                    json!(active),
                    json!(last),
                    age,
                    json!(names),
                    json!(images),
                    json!("<none>"),
                ],
            )
        }
        ("", "events") => {
            let object_ref = format!(
                "{}/{}",
                s(o, "/involvedObject/kind").to_lowercase(),
                s(o, "/involvedObject/name")
            );
            let last = [
                "/lastTimestamp",
                "/eventTime",
                "/metadata/creationTimestamp",
            ]
            .iter()
            .find(|p| {
                o.pointer(p)
                    .and_then(Value::as_str)
                    .is_some_and(|t| !t.is_empty())
            })
            .map_or_else(|| "<unknown>".to_owned(), |p| since(o, p));
            let count = o
                .pointer("/count")
                .and_then(Value::as_i64)
                .or_else(|| o.pointer("/series/count").and_then(Value::as_i64))
                .unwrap_or(1);
            (
                vec![
                    col(
                        "Last Seen",
                        "string",
                        0,
                        "Time when this Event was last seen.",
                    ),
                    col(
                        "Type",
                        "string",
                        0,
                        "Type of this event (Normal, Warning), new types could be added in the future.",
                    ),
                    col(
                        "Reason",
                        "string",
                        0,
                        "This should be a short, machine understandable string that gives the reason for this event being generated.",
                    ),
                    col("Object", "string", 0, "The object this Event is about."),
                    col(
                        "Message",
                        "string",
                        0,
                        "A human-readable description of the status of this operation.",
                    ),
                    col(
                        "Subobject",
                        "string",
                        1,
                        "The subobject this Event is about.",
                    ),
                    col("Source", "string", 1, "The component reporting this event."),
                    col(
                        "First Seen",
                        "string",
                        1,
                        "The time at which the event was first recorded.",
                    ),
                    col(
                        "Count",
                        "string",
                        1,
                        "The number of times this event has occurred.",
                    ),
                    col(
                        "Name",
                        "string",
                        1,
                        "Name must be unique within a namespace.",
                    ),
                ],
                vec![
                    json!(last),
                    json!(s(o, "/type")),
                    json!(s(o, "/reason")),
                    json!(object_ref),
                    json!(s(o, "/message")),
                    json!(s(o, "/involvedObject/fieldPath")),
                    json!(s(o, "/source/component")),
                    json!(since(o, "/firstTimestamp")),
                    json!(count.to_string()),
                    name,
                ],
            )
        }
        ("", "endpoints") => {
            let mut addresses = Vec::new();
            for subset in o
                .pointer("/subsets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let ports: Vec<i64> = subset["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["port"].as_i64())
                    .collect();
                for address in subset["addresses"].as_array().into_iter().flatten() {
                    let ip = address["ip"].as_str().unwrap_or_default();
                    if ports.is_empty() {
                        addresses.push(ip.to_owned());
                    }
                    addresses.extend(ports.iter().map(|p| format!("{ip}:{p}")));
                }
            }
            let shown = if addresses.len() > 3 {
                format!(
                    "{} + {} more...",
                    addresses[..3].join(","),
                    addresses.len() - 3
                )
            } else {
                addresses.join(",")
            };
            (
                vec![
                    NAME,
                    col(
                        "Endpoints",
                        "string",
                        0,
                        "Endpoints is the list of endpoints for this service.",
                    ),
                    AGE,
                ],
                vec![name, json!(or_none(shown)), age],
            )
        }
        ("", "persistentvolumeclaims") => {
            let modes = access_modes(o, "/status/accessModes");
            (
                vec![
                    NAME,
                    col("Status", "string", 0, "The phase of the claim."),
                    col(
                        "Volume",
                        "string",
                        0,
                        "The binding reference to the PersistentVolume.",
                    ),
                    col(
                        "Capacity",
                        "string",
                        0,
                        "The actual resources of the underlying volume.",
                    ),
                    col(
                        "Access Modes",
                        "string",
                        0,
                        "The actual access modes the volume backing the PVC has.",
                    ),
                    col(
                        "StorageClass",
                        "string",
                        0,
                        "Name of the StorageClass required by the claim.",
                    ),
                    col(
                        "VolumeAttributesClass",
                        "string",
                        0,
                        "The name of the VolumeAttributesClass the claim uses.",
                    ),
                    AGE,
                    col(
                        "VolumeMode",
                        "string",
                        1,
                        "What volume mode is required by the claim.",
                    ),
                ],
                vec![
                    name,
                    json!(s(o, "/status/phase")),
                    json!(s(o, "/spec/volumeName")),
                    json!(s(o, "/status/capacity/storage")),
                    json!(modes),
                    json!(or_none(s(o, "/spec/storageClassName"))),
                    json!(or_none(s(o, "/spec/volumeAttributesClassName"))),
                    age,
                    json!(s(o, "/spec/volumeMode")),
                ],
            )
        }
        ("", "persistentvolumes") => {
            let claim = if o.pointer("/spec/claimRef").is_some() {
                format!(
                    "{}/{}",
                    s(o, "/spec/claimRef/namespace"),
                    s(o, "/spec/claimRef/name")
                )
            } else {
                String::new()
            };
            (
                vec![
                    NAME,
                    col("Capacity", "string", 0, "The capacity of the volume."),
                    col(
                        "Access Modes",
                        "string",
                        0,
                        "All ways the volume can be mounted.",
                    ),
                    col(
                        "Reclaim Policy",
                        "string",
                        0,
                        "What happens to the volume when released from its claim.",
                    ),
                    col("Status", "string", 0, "The phase of the volume."),
                    col("Claim", "string", 0, "The claim bound to the volume."),
                    col(
                        "StorageClass",
                        "string",
                        0,
                        "The name of the StorageClass of the volume.",
                    ),
                    col(
                        "VolumeAttributesClass",
                        "string",
                        0,
                        "The name of the VolumeAttributesClass of the volume.",
                    ),
                    col("Reason", "string", 0, "Why the volume is in its phase."),
                    AGE,
                    col("VolumeMode", "string", 1, "The volume mode."),
                ],
                vec![
                    name,
                    json!(s(o, "/spec/capacity/storage")),
                    json!(access_modes(o, "/spec/accessModes")),
                    json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
                    json!(s(o, "/status/phase")),
                    json!(claim),
                    json!(s(o, "/spec/storageClassName")),
                    json!(or_none(s(o, "/spec/volumeAttributesClassName"))),
                    json!(s(o, "/status/reason")),
                    age,
                    json!(s(o, "/spec/volumeMode")),
                ],
            )
        }
        ("storage.k8s.io", "storageclasses") => {
            let default = o
                .pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                == Some(&json!("true"));
            let shown = if default {
                format!("{} (default)", s(o, "/metadata/name"))
            } else {
                s(o, "/metadata/name")
            };
            let policy = s(o, "/reclaimPolicy");
            let binding = s(o, "/volumeBindingMode");
            (
                vec![
                    NAME,
                    col("Provisioner", "string", 0, "The provisioner of the class."),
                    col(
                        "ReclaimPolicy",
                        "string",
                        0,
                        "What happens to released volumes.",
                    ),
                    col("VolumeBindingMode", "string", 0, "When volumes are bound."),
                    col(
                        "AllowVolumeExpansion",
                        "string",
                        0,
                        "Whether volumes can be expanded.",
                    ),
                    AGE,
                ],
                vec![
                    json!(shown),
                    json!(s(o, "/provisioner")),
                    json!(if policy.is_empty() {
                        "Delete".to_owned()
                    } else {
                        policy
                    }),
                    json!(if binding.is_empty() {
                        "Immediate".to_owned()
                    } else {
                        binding
                    }),
                    json!(
                        o.pointer("/allowVolumeExpansion")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    ),
                    age,
                ],
            )
        }
        ("networking.k8s.io", "ingresses") => {
            let hosts: Vec<String> = o
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| r["host"].as_str().unwrap_or("*").to_owned())
                .collect();
            let addresses: Vec<String> = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    i["ip"]
                        .as_str()
                        .or(i["hostname"].as_str())
                        .map(str::to_owned)
                })
                .collect();
            let ports = if o
                .pointer("/spec/tls")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
            {
                "80, 443"
            } else {
                "80"
            };
            (
                vec![
                    NAME,
                    col(
                        "Class",
                        "string",
                        0,
                        "The name of the IngressClass resource.",
                    ),
                    col(
                        "Hosts",
                        "string",
                        0,
                        "Hosts that incoming requests are matched against.",
                    ),
                    col(
                        "Address",
                        "string",
                        0,
                        "Address is a list containing ingress points for the load-balancer.",
                    ),
                    col(
                        "Ports",
                        "string",
                        0,
                        "Ports of TLS configurations that open.",
                    ),
                    AGE,
                ],
                vec![
                    name,
                    json!(or_none(s(o, "/spec/ingressClassName"))),
                    json!(if hosts.is_empty() {
                        "*".to_owned()
                    } else {
                        hosts.join(",")
                    }),
                    json!(addresses.join(",")),
                    json!(ports),
                    age,
                ],
            )
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            let subjects = o
                .pointer("/subjects")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let of = |kind: &str| {
                subjects
                    .iter()
                    .filter(|x| x["kind"] == kind)
                    .map(|x| {
                        if kind == "ServiceAccount" {
                            format!(
                                "{}/{}",
                                x["namespace"].as_str().unwrap_or_default(),
                                x["name"].as_str().unwrap_or_default()
                            )
                        } else {
                            x["name"].as_str().unwrap_or_default().to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (
                vec![
                    NAME,
                    col(
                        "Role",
                        "string",
                        0,
                        "RoleRef is the reference to the role this binding refers to.",
                    ),
                    AGE,
                    col("Users", "string", 1, "Users in the binding."),
                    col("Groups", "string", 1, "Groups in the binding."),
                    col(
                        "ServiceAccounts",
                        "string",
                        1,
                        "ServiceAccounts in the binding.",
                    ),
                ],
                vec![
                    name,
                    json!(format!(
                        "{}/{}",
                        s(o, "/roleRef/kind"),
                        s(o, "/roleRef/name")
                    )),
                    age,
                    json!(of("User")),
                    json!(of("Group")),
                    json!(of("ServiceAccount")),
                ],
            )
        }
        ("rbac.authorization.k8s.io", "roles" | "clusterroles")
        | ("apiextensions.k8s.io", "customresourcedefinitions")
        | ("", "limitranges") => (
            vec![
                NAME,
                col(
                    "Created At",
                    "date",
                    0,
                    "CreationTimestamp is a timestamp representing the server time when this object was created.",
                ),
            ],
            vec![name, json!(s(o, "/metadata/creationTimestamp"))],
        ),
        ("autoscaling", "horizontalpodautoscalers") => {
            let reference = format!(
                "{}/{}",
                s(o, "/spec/scaleTargetRef/kind"),
                s(o, "/spec/scaleTargetRef/name")
            );
            let min = o
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map_or("<unset>".to_owned(), |m| m.to_string());
            (
                vec![
                    NAME,
                    col(
                        "Reference",
                        "string",
                        0,
                        "Reference to the target scalable object.",
                    ),
                    col(
                        "Targets",
                        "string",
                        0,
                        "The metrics the autoscaler scales by.",
                    ),
                    col(
                        "MinPods",
                        "string",
                        0,
                        "The lower limit for the number of pods.",
                    ),
                    col(
                        "MaxPods",
                        "string",
                        0,
                        "The upper limit for the number of pods.",
                    ),
                    col("Replicas", "string", 0, "The current number of pods."),
                    AGE,
                ],
                vec![
                    name,
                    json!(reference),
                    json!("<unknown>"),
                    json!(min),
                    json!(n(o, "/spec/maxReplicas").to_string()),
                    json!(n(o, "/status/currentReplicas").to_string()),
                    age,
                ],
            )
        }
        ("coordination.k8s.io", "leases") => (
            vec![
                NAME,
                col("Holder", "string", 0, "The holder of the lease."),
                AGE,
            ],
            vec![name, json!(s(o, "/spec/holderIdentity")), age],
        ),
        ("policy", "poddisruptionbudgets") => (
            vec![
                NAME,
                col(
                    "Min Available",
                    "string",
                    0,
                    "The minimum number of pods that must be available.",
                ),
                col(
                    "Max Unavailable",
                    "string",
                    0,
                    "The maximum number of pods that may be unavailable.",
                ),
                col(
                    "Allowed Disruptions",
                    "integer",
                    0,
                    "Number of pod disruptions that are currently allowed.",
                ),
                AGE,
            ],
            vec![
                name,
                json!(or_na(s(o, "/spec/minAvailable"))),
                json!(or_na(s(o, "/spec/maxUnavailable"))),
                json!(n(o, "/status/disruptionsAllowed")),
                age,
            ],
        ),
        ("scheduling.k8s.io", "priorityclasses") => (
            vec![
                NAME,
                col(
                    "Value",
                    "integer",
                    0,
                    "The integer value of this priority class.",
                ),
                col(
                    "Global-Default",
                    "boolean",
                    0,
                    "Whether this is the default priority class.",
                ),
                AGE,
                col(
                    "PreemptionPolicy",
                    "string",
                    1,
                    "The preemption policy of this class.",
                ),
            ],
            vec![
                name,
                json!(n(o, "/value")),
                json!(
                    o.pointer("/globalDefault")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
                age,
                json!(s(o, "/preemptionPolicy")),
            ],
        ),
        _ => return None,
    })
}

fn or_na(text: String) -> String {
    if text.is_empty() {
        "N/A".to_owned()
    } else {
        text
    }
}

/// Upstream's short access-mode names (`RWO`, `ROX`, `RWX`, `RWOP`).
fn access_modes(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| match m.as_str()? {
            "ReadWriteOnce" => Some("RWO"),
            "ReadOnlyMany" => Some("ROX"),
            "ReadWriteMany" => Some("RWX"),
            "ReadWriteOncePod" => Some("RWOP"),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(group: &str, plural: &str) -> Vec<&'static str> {
        printer(group, plural, None)
            .unwrap()
            .0
            .iter()
            .map(|c| c.name)
            .collect()
    }

    fn cells(group: &str, plural: &str, object: Value) -> Vec<Value> {
        printer(group, plural, Some(&object)).unwrap().1
    }

    #[test]
    fn headers_follow_upstreams_printers() {
        assert_eq!(
            header("apps", "replicasets")[..5],
            ["Name", "Desired", "Current", "Ready", "Age"]
        );
        assert_eq!(
            header("batch", "jobs")[..5],
            ["Name", "Status", "Completions", "Duration", "Age"]
        );
        assert_eq!(
            header("batch", "cronjobs")[..7],
            [
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age"
            ]
        );
        assert_eq!(
            header("", "events")[..5],
            ["Last Seen", "Type", "Reason", "Object", "Message"]
        );
        assert!(
            printer("", "configmaps", None).is_none(),
            "table.rs prints those"
        );
    }

    #[test]
    fn a_finished_job_shows_its_completions_and_status() {
        let job = json!({"metadata": {"name": "j"}, "spec": {"completions": 1},
            "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}],
                       "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:00:07Z"}});
        let row = cells("batch", "jobs", job);
        assert_eq!(
            (row[1].as_str(), row[2].as_str(), row[3].as_str()),
            (Some("Complete"), Some("1/1"), Some("7s"))
        );
    }

    #[test]
    fn events_name_their_object_and_pvcs_shorten_access_modes() {
        let event = json!({"metadata": {"name": "e"}, "type": "Warning", "reason": "BackOff",
            "involvedObject": {"kind": "Pod", "name": "web-0"}, "message": "restarting", "count": 4});
        let row = cells("", "events", event);
        assert_eq!(
            (row[3].as_str(), row[8].as_str()),
            (Some("pod/web-0"), Some("4"))
        );
        let pvc = json!({"metadata": {"name": "data"}, "spec": {"volumeName": "pv1", "storageClassName": "fast"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}});
        let row = cells("", "persistentvolumeclaims", pvc);
        assert_eq!(
            (row[1].as_str(), row[4].as_str(), row[5].as_str()),
            (Some("Bound"), Some("RWO"), Some("fast"))
        );
    }

    #[test]
    fn a_cluster_role_binding_lists_its_subjects_by_kind_in_wide_output() {
        let binding = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "namespace": "kube-system", "name": "robot"}]});
        let row = cells("rbac.authorization.k8s.io", "clusterrolebindings", binding);
        assert_eq!(
            (row[1].as_str(), row[3].as_str(), row[5].as_str()),
            (
                Some("ClusterRole/admin"),
                Some("alice"),
                Some("kube-system/robot")
            )
        );
    }

    #[test]
    fn the_default_storage_class_is_marked() {
        let class = json!({"metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path"});
        let row = cells("storage.k8s.io", "storageclasses", class);
        assert_eq!(
            (row[0].as_str(), row[2].as_str(), row[3].as_str()),
            (Some("local (default)"), Some("Delete"), Some("Immediate"))
        );
    }
}
