//! Server-side printing: `meta.k8s.io/v1` Tables with upstream's columns per kind (what
//! `kubectl get` shows), rows carrying `PartialObjectMetadata` (or the whole object with
//! `includeObject=Object`).
//!
//! The per-kind printers mirror upstream's `pkg/printers/internalversion/printers.go`
//! (`AddHandlers` for the columns, one `printXxx` per kind for the cells), one module per area:
//! [`pod`], [`workloads`] (apps, batch, autoscaling, policy), [`networking`], [`storage`],
//! [`cluster`] (namespaces, nodes, config, events, scheduling, coordination) and [`access`]
//! (RBAC bindings, certificates, admission). Kinds upstream has no printer for (roles, cluster
//! roles, limit ranges, custom resource definitions) get its default convertor's `Name` and
//! `Created At`.
//!
//! Upstream's API server always prints as `-o wide` would and leaves it to the client to hide
//! the columns of priority 1, so every row carries every column's cell. Cells keep upstream's
//! JSON types: counts are numbers even under a `string` column, as upstream marshals `int64`s.
//! Objects served in a converted shape (`events.k8s.io` Events, `autoscaling/v1` HPAs) are
//! printed from their stored shape, as upstream prints from the internal version.

mod access;
mod cluster;
mod custom;
mod docs;
mod format;
mod networking;
mod pod;
mod quantity;
mod storage;
#[cfg(test)]
mod tests;
mod workloads;

use crate::{convert, meta};
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

/// One column definition (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy)]
struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    priority: u32,
    description: &'static str,
}

impl Column {
    /// A column shown by default, with no format.
    const fn new(name: &'static str, kind: &'static str, description: &'static str) -> Self {
        Column {
            name,
            kind,
            format: "",
            priority: 0,
            description,
        }
    }

    /// The same column, shown only with `-o wide` (priority 1).
    const fn wide(self) -> Self {
        Column {
            priority: 1,
            ..self
        }
    }

    /// The same column with a format (`name`).
    const fn formatted(self, format: &'static str) -> Self {
        Column { format, ..self }
    }
}

const NAME: Column = Column::new("Name", "string", docs::OBJECT_META_NAME).formatted("name");
const AGE: Column = Column::new("Age", "string", docs::OBJECT_META_CREATION_TIMESTAMP);
const CONTAINERS: Column = Column::new(
    "Containers",
    "string",
    "The containers column, computed as upstream's printer does.",
)
.wide();
const IMAGES: Column = Column::new(
    "Images",
    "string",
    "The images column, computed as upstream's printer does.",
)
.wide();

/// A kind's printer: its columns, and the cells of one object's row.
#[derive(Clone, Copy)]
struct Printer {
    columns: &'static [Column],
    cells: fn(&Value) -> Vec<Value>,
}

/// Upstream's default Table convertor (`rest.NewDefaultTableConvertor`), for kinds without a
/// printer: the name, and the creation time in RFC 3339.
const DEFAULT: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Created At", "date", docs::OBJECT_META_CREATION_TIMESTAMP),
    ],
    cells: |object| {
        let created = format::timestamp(object, "/metadata/creationTimestamp")
            .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), meta::rfc3339);
        vec![format::name(object), json!(created)]
    },
};

/// Name and age, for resources outside the catalogue.
const NAME_AND_AGE: Printer = Printer {
    columns: &[NAME, AGE],
    cells: |object| vec![format::name(object), format::age(object)],
};

/// The printer of a resource, by group and plural name (a resource's versions print alike).
fn printer(resource: &Resource) -> Printer {
    match (resource.group, resource.plural) {
        ("", "pods") => pod::PODS,
        ("", "podtemplates") => workloads::POD_TEMPLATES,
        ("", "replicationcontrollers") => workloads::REPLICATION_CONTROLLERS,
        ("apps", "replicasets") => workloads::REPLICA_SETS,
        ("apps", "deployments") => workloads::DEPLOYMENTS,
        ("apps", "statefulsets") => workloads::STATEFUL_SETS,
        ("apps", "daemonsets") => workloads::DAEMON_SETS,
        ("apps", "controllerrevisions") => workloads::CONTROLLER_REVISIONS,
        ("batch", "jobs") => workloads::JOBS,
        ("batch", "cronjobs") => workloads::CRON_JOBS,
        ("autoscaling", "horizontalpodautoscalers") => workloads::HORIZONTAL_POD_AUTOSCALERS,
        ("policy", "poddisruptionbudgets") => workloads::POD_DISRUPTION_BUDGETS,
        ("", "services") => networking::SERVICES,
        ("", "endpoints") => networking::ENDPOINTS,
        ("discovery.k8s.io", "endpointslices") => networking::ENDPOINT_SLICES,
        ("networking.k8s.io", "ingresses") => networking::INGRESSES,
        ("networking.k8s.io", "ingressclasses") => networking::INGRESS_CLASSES,
        ("networking.k8s.io", "networkpolicies") => networking::NETWORK_POLICIES,
        ("networking.k8s.io", "ipaddresses") => networking::IP_ADDRESSES,
        ("networking.k8s.io", "servicecidrs") => networking::SERVICE_CIDRS,
        ("", "persistentvolumes") => storage::PERSISTENT_VOLUMES,
        ("", "persistentvolumeclaims") => storage::PERSISTENT_VOLUME_CLAIMS,
        ("storage.k8s.io", "storageclasses") => storage::STORAGE_CLASSES,
        ("storage.k8s.io", "csidrivers") => storage::CSI_DRIVERS,
        ("storage.k8s.io", "csinodes") => storage::CSI_NODES,
        ("storage.k8s.io", "csistoragecapacities") => storage::CSI_STORAGE_CAPACITIES,
        ("storage.k8s.io", "volumeattachments") => storage::VOLUME_ATTACHMENTS,
        ("", "namespaces") => cluster::NAMESPACES,
        ("", "nodes") => cluster::NODES,
        ("", "configmaps") => cluster::CONFIG_MAPS,
        ("", "secrets") => cluster::SECRETS,
        ("", "serviceaccounts") => cluster::SERVICE_ACCOUNTS,
        ("", "resourcequotas") => cluster::RESOURCE_QUOTAS,
        ("", "componentstatuses") => cluster::COMPONENT_STATUSES,
        ("" | "events.k8s.io", "events") => cluster::EVENTS,
        ("coordination.k8s.io", "leases") => cluster::LEASES,
        ("scheduling.k8s.io", "priorityclasses") => cluster::PRIORITY_CLASSES,
        ("node.k8s.io", "runtimeclasses") => cluster::RUNTIME_CLASSES,
        ("rbac.authorization.k8s.io", "rolebindings") => access::ROLE_BINDINGS,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => access::CLUSTER_ROLE_BINDINGS,
        ("certificates.k8s.io", "certificatesigningrequests") => {
            access::CERTIFICATE_SIGNING_REQUESTS
        }
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations") => {
            access::MUTATING_WEBHOOK_CONFIGURATIONS
        }
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations") => {
            access::VALIDATING_WEBHOOK_CONFIGURATIONS
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicies") => {
            access::VALIDATING_ADMISSION_POLICIES
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings") => {
            access::VALIDATING_ADMISSION_POLICY_BINDINGS
        }
        ("rbac.authorization.k8s.io", "roles" | "clusterroles")
        | ("", "limitranges")
        | ("apiextensions.k8s.io", "customresourcedefinitions") => DEFAULT,
        _ => NAME_AND_AGE,
    }
}

/// The column definitions of a resource's Tables.
fn columns(resource: &Resource) -> &'static [Column] {
    printer(resource).columns
}

/// One object's cells, in column order.
fn cells(resource: &Resource, object: &Value) -> Vec<Value> {
    if let Some(served) = crate::crd::served::get(resource) {
        return custom::cells(&served, object);
    }
    let print = printer(resource).cells;
    if convert::converts(resource) {
        let mut stored = object.clone();
        convert::to_storage(resource, &mut stored);
        print(&stored)
    } else {
        print(object)
    }
}

/// Upstream's row conditions (`metav1.TableRowCondition`): only pods that ran to completion
/// carry one.
fn row_conditions(resource: &Resource, object: &Value) -> Option<Value> {
    if (resource.group, resource.plural) == ("", "pods") {
        pod::conditions(object)
    } else {
        None
    }
}

/// How long ago an object was created, in upstream's short human form (`5m3s`, `3h`, `12d`).
fn age(object: &Value) -> String {
    format::since(object, "/metadata/creationTimestamp")
}

/// How long ago a moment (seconds since the epoch) was, as upstream's `translateTimestampSince`
/// prints it: `<invalid>` more than a second in the future, `0s` up to a second ahead (clock
/// skew).
fn since(then: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match now.checked_sub(then) {
        Some(elapsed) => human_duration(elapsed),
        None if then - now > 1 => "<invalid>".to_owned(),
        None => "0s".to_owned(),
    }
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
        if let Some(served) = crate::crd::served::get(resource) {
            return custom::definitions(&served);
        }
        columns(resource)
            .iter()
            .map(|c| json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority}))
            .collect()
    }

    fn row(&self, resource: &Resource, object: Value) -> Value {
        let cells = cells(resource, &object);
        let conditions = row_conditions(resource, &object);
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
        if let Some(conditions) = conditions {
            row["conditions"] = conditions;
        }
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
