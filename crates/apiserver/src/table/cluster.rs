//! The cluster's fabric and bookkeeping: namespaces, nodes, config maps, secrets, service
//! accounts, resource quotas, component statuses, events (core and `events.k8s.io`), leases,
//! priority classes and runtime classes.

use super::format::{flag, int, is_set, items, kind_slash_name, len, or, text, timestamp};
use super::{AGE, Column, NAME, Printer, docs, format, quantity};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub(super) const NAMESPACES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Status",
            "string",
            "The status column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |namespace| {
        vec![
            format::name(namespace),
            json!(text(namespace, "/status/phase")),
            format::age(namespace),
        ]
    },
};

pub(super) const NODES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Status",
            "string",
            "The status column, computed as upstream's printer does.",
        ),
        Column::new(
            "Roles",
            "string",
            "The roles column, computed as upstream's printer does.",
        ),
        AGE,
        Column::new("Version", "string", docs::NODE_SYSTEM_INFO_KUBELET_VERSION),
        Column::new("Internal-IP", "string", docs::NODE_STATUS_ADDRESSES).wide(),
        Column::new("External-IP", "string", docs::NODE_STATUS_ADDRESSES).wide(),
        Column::new("OS-Image", "string", docs::NODE_SYSTEM_INFO_OS_IMAGE).wide(),
        Column::new(
            "Kernel-Version",
            "string",
            docs::NODE_SYSTEM_INFO_KERNEL_VERSION,
        )
        .wide(),
        Column::new(
            "Container-Runtime",
            "string",
            docs::NODE_SYSTEM_INFO_CONTAINER_RUNTIME_VERSION,
        )
        .wide(),
    ],
    cells: |node| {
        // The last Ready condition counts, as upstream indexes conditions by type.
        let ready = items(node, "/status/conditions")
            .iter()
            .rev()
            .find(|c| c["type"] == "Ready");
        let mut status = match ready {
            Some(c) if c["status"] == "True" => "Ready".to_owned(),
            Some(_) => "NotReady".to_owned(),
            None => "Unknown".to_owned(),
        };
        if flag(node, "/spec/unschedulable") == Some(true) {
            status.push_str(",SchedulingDisabled");
        }
        let address = |kind: &str| {
            items(node, "/status/addresses")
                .iter()
                .find(|a| a["type"] == kind)
                .and_then(|a| a["address"].as_str())
                .unwrap_or("<none>")
                .to_owned()
        };
        let info = |field: &str| {
            or(
                text(node, &format!("/status/nodeInfo/{field}")),
                "<unknown>",
            )
        };
        vec![
            format::name(node),
            json!(status),
            json!(or(&node_roles(node).join(","), "<none>")),
            format::age(node),
            json!(text(node, "/status/nodeInfo/kubeletVersion")),
            json!(address("InternalIP")),
            json!(address("ExternalIP")),
            json!(info("osImage")),
            json!(info("kernelVersion")),
            json!(info("containerRuntimeVersion")),
        ]
    },
};

/// A node's roles, sorted: `<role>` of every `node-role.kubernetes.io/<role>` label, and the
/// value of a `kubernetes.io/role` label.
fn node_roles(node: &Value) -> Vec<String> {
    let mut roles = BTreeSet::new();
    for (key, value) in format::map(node, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_owned());
            }
        } else if key == "kubernetes.io/role"
            && let Some(role) = value.as_str().filter(|r| !r.is_empty())
        {
            roles.insert(role.to_owned());
        }
    }
    roles.into_iter().collect()
}

pub(super) const CONFIG_MAPS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Data", "string", docs::CONFIG_MAP_DATA),
        AGE,
    ],
    cells: |config| {
        vec![
            format::name(config),
            json!(len(config, "/data") + len(config, "/binaryData")),
            format::age(config),
        ]
    },
};

pub(super) const SECRETS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Type", "string", docs::SECRET_TYPE),
        Column::new("Data", "string", docs::SECRET_DATA),
        AGE,
    ],
    cells: |secret| {
        vec![
            format::name(secret),
            json!(text(secret, "/type")),
            json!(len(secret, "/data")),
            format::age(secret),
        ]
    },
};

pub(super) const SERVICE_ACCOUNTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Secrets", "string", docs::SERVICE_ACCOUNT_SECRETS),
        AGE,
    ],
    cells: |account| {
        vec![
            format::name(account),
            json!(len(account, "/secrets")),
            format::age(account),
        ]
    },
};

pub(super) const RESOURCE_QUOTAS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Request",
            "string",
            "The request column, computed as upstream's printer does.",
        ),
        Column::new(
            "Limit",
            "string",
            "The limit column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |quota| {
        let mut hard: Vec<(&String, &Value)> = format::map(quota, "/status/hard")
            .into_iter()
            .flatten()
            .collect();
        hard.sort_unstable_by_key(|(resource, _)| *resource);
        let (mut requests, mut limits) = (Vec::new(), Vec::new());
        for (resource, limit) in hard {
            let used = format::map(quota, "/status/used").and_then(|u| u.get(resource));
            let entry = format!(
                "{resource}: {}/{}",
                quantity::show(used),
                quantity::show(Some(limit))
            );
            let is_limit = resource
                .split_once('.')
                .is_some_and(|(prefix, _)| prefix == "limits");
            if is_limit {
                limits.push(entry);
            } else {
                requests.push(entry);
            }
        }
        vec![
            format::name(quota),
            json!(requests.join(", ")),
            json!(limits.join(", ")),
            format::age(quota),
        ]
    },
};

pub(super) const COMPONENT_STATUSES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Status",
            "string",
            "The status column, computed as upstream's printer does.",
        ),
        Column::new(
            "Message",
            "string",
            "The message column, computed as upstream's printer does.",
        ),
        Column::new(
            "Error",
            "string",
            "The error column, computed as upstream's printer does.",
        ),
    ],
    cells: |component| {
        let healthy = items(component, "/conditions")
            .iter()
            .find(|c| c["type"] == "Healthy");
        let (status, message, error) = match healthy {
            Some(c) => (
                if c["status"] == "True" {
                    "Healthy"
                } else {
                    "Unhealthy"
                },
                c["message"].as_str().unwrap_or(""),
                c["error"].as_str().unwrap_or(""),
            ),
            None => ("Unknown", "", ""),
        };
        vec![
            format::name(component),
            json!(status),
            json!(message),
            json!(error),
        ]
    },
};

pub(super) const EVENTS: Printer = Printer {
    columns: &[
        Column::new("Last Seen", "string", docs::EVENT_LAST_TIMESTAMP),
        Column::new("Type", "string", docs::EVENT_TYPE),
        Column::new("Reason", "string", docs::EVENT_REASON),
        Column::new("Object", "string", docs::EVENT_INVOLVED_OBJECT),
        Column::new("Subobject", "string", docs::OBJECT_REFERENCE_FIELD_PATH).wide(),
        Column::new("Source", "string", docs::EVENT_SOURCE).wide(),
        Column::new("Message", "string", docs::EVENT_MESSAGE),
        Column::new("First Seen", "string", docs::EVENT_FIRST_TIMESTAMP).wide(),
        Column::new("Count", "string", docs::EVENT_COUNT).wide(),
        NAME.wide(),
    ],
    // Printed from the core `v1` shape; `table::cells` converts `events.k8s.io` events first.
    cells: |event| {
        let first_seen = match timestamp(event, "/firstTimestamp") {
            Some(first) => super::since(first),
            None => format::since(event, "/eventTime"),
        };
        let mut last_seen = match timestamp(event, "/lastTimestamp") {
            Some(last) => super::since(last),
            None => first_seen.clone(),
        };
        let mut count = int(event, "/count");
        if is_set(event, "/series") {
            last_seen = format::since(event, "/series/lastObservedTime");
            count = int(event, "/series/count");
        } else if count == 0 {
            // Events written through events.k8s.io/v1 once, without a series, have no count.
            count = 1;
        }
        let object = kind_slash_name(
            text(event, "/involvedObject/kind"),
            text(event, "/involvedObject/name"),
        );
        vec![
            json!(last_seen),
            json!(text(event, "/type")),
            json!(text(event, "/reason")),
            json!(object),
            json!(text(event, "/involvedObject/fieldPath")),
            json!(event_source(event)),
            json!(text(event, "/message").trim()),
            json!(first_seen),
            json!(count),
            format::name(event),
        ]
    },
};

/// `component, host`, each falling back to the reporting controller and instance.
fn event_source(event: &Value) -> String {
    // Core v1 names the reporting controller `reportingComponent`; events.k8s.io names it
    // `reportingController`.
    let controller = or(
        text(event, "/reportingComponent"),
        text(event, "/reportingController"),
    );
    let component = or(text(event, "/source/component"), &controller);
    let host = or(
        text(event, "/source/host"),
        text(event, "/reportingInstance"),
    );
    if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    }
}

pub(super) const LEASES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Holder", "string", docs::LEASE_SPEC_HOLDER_IDENTITY),
        AGE,
    ],
    cells: |lease| {
        vec![
            format::name(lease),
            json!(text(lease, "/spec/holderIdentity")),
            format::age(lease),
        ]
    },
};

pub(super) const PRIORITY_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Value", "integer", docs::PRIORITY_CLASS_VALUE),
        Column::new(
            "Global-Default",
            "boolean",
            docs::PRIORITY_CLASS_GLOBAL_DEFAULT,
        ),
        AGE,
        // Upstream prints this column only with -o wide yet declares it priority 0, so kubectl
        // shows it always.
        Column::new(
            "PreemptionPolicy",
            "string",
            docs::PRIORITY_CLASS_PREEMPTION_POLICY,
        ),
    ],
    cells: |class| {
        vec![
            format::name(class),
            json!(int(class, "/value")),
            json!(flag(class, "/globalDefault").unwrap_or(false)),
            format::age(class),
            json!(text(class, "/preemptionPolicy")),
        ]
    },
};

pub(super) const RUNTIME_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        // Upstream looks this description up under a key ObjectMeta does not have.
        Column::new(
            "Handler",
            "string",
            "The handler column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |class| {
        vec![
            format::name(class),
            json!(text(class, "/handler")),
            format::age(class),
        ]
    },
};
