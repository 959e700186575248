//! Server-side printing: `meta.k8s.io/v1` Tables with upstream's columns per kind (what
//! `kubectl get` shows), rows carrying `PartialObjectMetadata` (or the whole object with
//! `includeObject=Object`).

mod kinds;

use crate::meta;
use gantry_api::catalogue::Resource;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// What kind of object a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// `None`.
    None,
    /// `Metadata` (the default).
    Metadata,
    /// `Object`.
    Object,
}

/// Builds Tables for one response (or one watch stream).
#[derive(Debug, Clone)]
pub struct TableWriter {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, as the client asked.
    pub api_version: &'static str,
    /// What rows carry.
    pub include: IncludeObject,
    /// Whether column definitions were already sent on this watch.
    columns_sent: bool,
}

struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    priority: u32,
    description: &'static str,
}

const fn col(
    name: &'static str,
    kind: &'static str,
    priority: u32,
    description: &'static str,
) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority,
        description,
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    priority: 0,
    description: "Name must be unique within a namespace.",
};
const AGE: Column = col(
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

/// The columns of a kind and a function rendering one object's cells.
fn columns(resource: &Resource) -> Vec<Column> {
    match (resource.group, resource.plural) {
        ("", "pods") => vec![
            NAME,
            col(
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            col(
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            col(
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            col(
                "IP",
                "string",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            col(
                "Node",
                "string",
                1,
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            col(
                "Nominated Node",
                "string",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            col(
                "Readiness Gates",
                "string",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        ("", "namespaces") => vec![
            NAME,
            col("Status", "string", 0, "The status of the namespace"),
            AGE,
        ],
        ("", "configmaps") => vec![
            NAME,
            col("Data", "string", 0, "Data contains the configuration data."),
            AGE,
        ],
        ("", "secrets") => vec![
            NAME,
            col(
                "Type",
                "string",
                0,
                "Used to facilitate programmatic handling of secret data.",
            ),
            col("Data", "string", 0, "Data contains the secret data."),
            AGE,
        ],
        ("", "serviceaccounts") => vec![
            NAME,
            col(
                "Secrets",
                "string",
                0,
                "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
            ),
            AGE,
        ],
        ("", "services") => vec![
            NAME,
            col(
                "Type",
                "string",
                0,
                "type determines how the Service is exposed.",
            ),
            col(
                "Cluster-IP",
                "string",
                0,
                "clusterIP is the IP address of the service and is usually assigned randomly by the master.",
            ),
            col(
                "External-IP",
                "string",
                0,
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            col(
                "Port(s)",
                "string",
                0,
                "The list of ports that are exposed by this service.",
            ),
            AGE,
            col(
                "Selector",
                "string",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        ("apps", "deployments") => vec![
            NAME,
            col("Ready", "string", 0, "Number of the pod with ready state"),
            col(
                "Up-to-date",
                "string",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            col(
                "Available",
                "string",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            col(
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            col(
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            col(
                "Selector",
                "string",
                1,
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
            ),
        ],
        ("", "nodes") => vec![
            NAME,
            col("Status", "string", 0, "The status of the node"),
            col("Roles", "string", 0, "The roles of the node"),
            AGE,
            col(
                "Version",
                "string",
                0,
                "Kubelet Version reported by the node.",
            ),
            col(
                "Internal-IP",
                "string",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "External-IP",
                "string",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "OS-Image",
                "string",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            col(
                "Kernel-Version",
                "string",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            col(
                "Container-Runtime",
                "string",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        (group, plural) => kinds::printer(group, plural, None)
            .map_or_else(|| vec![NAME, AGE], |(columns, _)| columns),
    }
}

fn cells(resource: &Resource, object: &Value) -> Vec<Value> {
    let name = json!(meta::meta_str(object, "name").unwrap_or_default());
    let age = json!(age(object));
    let s = |ptr: &str| {
        object
            .pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let len = |ptr: &str| {
        object
            .pointer(ptr)
            .and_then(Value::as_object)
            .map_or(0, serde_json::Map::len)
            + if ptr == "/data" {
                object
                    .pointer("/binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, serde_json::Map::len)
            } else {
                0
            }
    };
    let none = |v: String| if v.is_empty() { "<none>".to_owned() } else { v };
    match (resource.group, resource.plural) {
        ("", "pods") => {
            let statuses = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let total = object
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses.map_or(0, |s| {
                s.iter().filter(|c| c["ready"] == json!(true)).count()
            });
            let restarts: i64 = statuses.map_or(0, |s| {
                s.iter().filter_map(|c| c["restartCount"].as_i64()).sum()
            });
            let mut status = s("/status/phase");
            if let Some(reason) = object.pointer("/status/reason").and_then(Value::as_str) {
                status = reason.to_owned();
            }
            if meta::meta_str(object, "deletionTimestamp").is_some() {
                status = "Terminating".to_owned();
            }
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(status),
                json!(restarts.to_string()),
                age,
                json!(none(s("/status/podIP"))),
                json!(none(s("/spec/nodeName"))),
                json!(none(s("/status/nominatedNodeName"))),
                json!("<none>"),
            ]
        }
        ("", "namespaces") => vec![name, json!(s("/status/phase")), age],
        ("", "configmaps") => vec![name, json!(len("/data")), age],
        ("", "secrets") => vec![name, json!(s("/type")), json!(len("/data")), age],
        ("", "serviceaccounts") => {
            let secrets = object
                .pointer("/secrets")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![name, json!(secrets), age]
        }
        ("", "services") => {
            let ports: Vec<String> = object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let port = p["port"].as_i64().unwrap_or(0);
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(node) => format!("{port}:{node}/{proto}"),
                        None => format!("{port}/{proto}"),
                    }
                })
                .collect();
            let selector: Vec<String> = object
                .pointer("/spec/selector")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            vec![
                name,
                json!(if s("/spec/type").is_empty() {
                    "ClusterIP".to_owned()
                } else {
                    s("/spec/type")
                }),
                json!(none(s("/spec/clusterIP"))),
                json!("<none>"),
                json!(none(ports.join(","))),
                age,
                json!(none(selector.join(","))),
            ]
        }
        ("apps", "deployments") => {
            let n = |ptr: &str| object.pointer(ptr).and_then(Value::as_i64).unwrap_or(0);
            let containers = object
                .pointer("/spec/template/spec/containers")
                .and_then(Value::as_array);
            let names: Vec<&str> = containers
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .collect();
            let images: Vec<&str> = containers
                .into_iter()
                .flatten()
                .filter_map(|c| c["image"].as_str())
                .collect();
            let selector: Vec<String> = object
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n("/status/readyReplicas"),
                    object
                        .pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
                json!(n("/status/updatedReplicas")),
                json!(n("/status/availableReplicas")),
                age,
                json!(names.join(",")),
                json!(images.join(",")),
                json!(selector.join(",")),
            ]
        }
        ("", "nodes") => {
            let ready = object
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
                .map(|c| {
                    if c["status"] == "True" {
                        "Ready"
                    } else {
                        "NotReady"
                    }
                })
                .unwrap_or("Unknown");
            let address = |kind: &str| {
                object
                    .pointer("/status/addresses")
                    .and_then(Value::as_array)
                    .and_then(|a| a.iter().find(|a| a["type"] == kind))
                    .and_then(|a| a["address"].as_str())
                    .unwrap_or("<none>")
                    .to_owned()
            };
            vec![
                name,
                json!(ready),
                json!("<none>"),
                age,
                json!(s("/status/nodeInfo/kubeletVersion")),
                json!(address("InternalIP")),
                json!(address("ExternalIP")),
                json!(s("/status/nodeInfo/osImage")),
                json!(s("/status/nodeInfo/kernelVersion")),
                json!(s("/status/nodeInfo/containerRuntimeVersion")),
            ]
        }
        (group, plural) => kinds::printer(group, plural, Some(object))
            .map_or_else(|| vec![name, age], |(_, cells)| cells),
    }
}

/// How long ago an object was created, in upstream's short human form (`5m3s`, `3h`, `12d`).
fn age(object: &Value) -> String {
    let Some(created) = meta::meta_str(object, "creationTimestamp").and_then(meta::parse_rfc3339)
    else {
        return "<unknown>".to_owned();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    human_duration(now.saturating_sub(created))
}

/// Upstream's `duration.HumanDuration`: coarser as the span grows.
pub fn human_duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let with = |big: u64, unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        with(minutes, "m", seconds % 60, "s")
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        with(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with(hours / 24, "d", hours % 24, "h")
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        with(hours / 24 / 365, "y", (hours / 24) % 365, "d")
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

impl TableWriter {
    /// A writer for the given Table version and row content.
    pub fn new(api_version: &'static str, include: IncludeObject) -> Self {
        Self {
            api_version,
            include,
            columns_sent: false,
        }
    }

    fn definitions(resource: &Resource) -> Vec<Value> {
        columns(resource)
            .iter()
            .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
            .collect()
    }

    fn row(&self, resource: &Resource, object: Value) -> Value {
        let cells = cells(resource, &object);
        let carried = match self.include {
            IncludeObject::None => Value::Null,
            IncludeObject::Object => object,
            IncludeObject::Metadata => json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": object.get("metadata").cloned().unwrap_or(json!({})),
            }),
        };
        let mut row = json!({"cells": cells});
        if !carried.is_null() {
            row["object"] = carried;
        }
        row
    }

    /// A Table of one object (GET) or of a list's items (LIST).
    pub fn table(&self, resource: &Resource, objects: Vec<Value>, list_metadata: Value) -> Value {
        let rows: Vec<Value> = objects.into_iter().map(|o| self.row(resource, o)).collect();
        json!({
            "kind": "Table",
            "apiVersion": self.api_version,
            "metadata": list_metadata,
            "columnDefinitions": Self::definitions(resource),
            "rows": rows,
        })
    }

    /// A Table for one watch event; column definitions go with the first one only.
    pub fn event_table(&mut self, resource: &Resource, object: Value) -> Value {
        let rv = object
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(json!(""));
        let columns = if self.columns_sent {
            Vec::new()
        } else {
            Self::definitions(resource)
        };
        self.columns_sent = true;
        json!({
            "kind": "Table",
            "apiVersion": self.api_version,
            "metadata": {"resourceVersion": rv},
            "columnDefinitions": columns,
            "rows": [self.row(resource, object)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn ages_coarsen_as_upstream_prints_them() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(183), "3m3s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(20 * 3600), "20h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86400), "100d");
        assert_eq!(human_duration(3 * 365 * 86400 + 86400 * 5), "3y5d");
    }
}
