//! Workload controllers and what scales or guards them: replication controllers, pod templates,
//! `apps` (replica sets, deployments, stateful sets, daemon sets, controller revisions), `batch`
//! (jobs, cron jobs), horizontal pod autoscalers and pod disruption budgets.

use super::format::{
    bool_pointer, containers, format_label_selector, format_labels, int, int_or_string, is_set,
    items, opt_int, or, selector_string, text, timestamp,
};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Printer, docs, format, quantity};
use serde_json::{Value, json};

const TEMPLATE_CONTAINERS: &str = "/spec/template/spec/containers";

/// `spec.replicas`, which defaulting sets to 1.
fn desired(object: &Value) -> i64 {
    opt_int(object, "/spec/replicas").unwrap_or(1)
}

pub(super) const POD_TEMPLATES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Containers",
            "string",
            "The containers column, computed as upstream's printer does.",
        ),
        Column::new(
            "Images",
            "string",
            "The images column, computed as upstream's printer does.",
        ),
        Column::new(
            "Pod Labels",
            "string",
            "The pod labels column, computed as upstream's printer does.",
        ),
    ],
    cells: |template| {
        let (names, images) = containers(template, "/template/spec/containers");
        vec![
            format::name(template),
            names,
            images,
            json!(format_labels(template, "/template/metadata/labels")),
        ]
    },
};

pub(super) const REPLICATION_CONTROLLERS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Desired",
            "integer",
            docs::REPLICATION_CONTROLLER_SPEC_REPLICAS,
        ),
        Column::new(
            "Current",
            "integer",
            docs::REPLICATION_CONTROLLER_STATUS_REPLICAS,
        ),
        Column::new(
            "Ready",
            "integer",
            docs::REPLICATION_CONTROLLER_STATUS_READY_REPLICAS,
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new(
            "Selector",
            "string",
            docs::REPLICATION_CONTROLLER_SPEC_SELECTOR,
        )
        .wide(),
    ],
    cells: |rc| {
        let (names, images) = containers(rc, TEMPLATE_CONTAINERS);
        vec![
            format::name(rc),
            json!(desired(rc)),
            json!(int(rc, "/status/replicas")),
            json!(int(rc, "/status/readyReplicas")),
            format::age(rc),
            names,
            images,
            json!(format_labels(rc, "/spec/selector")),
        ]
    },
};

pub(super) const REPLICA_SETS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Desired", "integer", docs::REPLICA_SET_SPEC_REPLICAS),
        Column::new("Current", "integer", docs::REPLICA_SET_STATUS_REPLICAS),
        Column::new("Ready", "integer", docs::REPLICA_SET_STATUS_READY_REPLICAS),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new("Selector", "string", docs::REPLICA_SET_SPEC_SELECTOR).wide(),
    ],
    cells: |rs| {
        let (names, images) = containers(rs, TEMPLATE_CONTAINERS);
        vec![
            format::name(rs),
            json!(desired(rs)),
            json!(int(rs, "/status/replicas")),
            json!(int(rs, "/status/readyReplicas")),
            format::age(rs),
            names,
            images,
            json!(format_label_selector(rs, "/spec/selector")),
        ]
    },
};

pub(super) const DEPLOYMENTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Ready",
            "string",
            "The ready column, computed as upstream's printer does.",
        ),
        Column::new(
            "Up-to-date",
            "string",
            docs::DEPLOYMENT_STATUS_UPDATED_REPLICAS,
        ),
        Column::new(
            "Available",
            "string",
            docs::DEPLOYMENT_STATUS_AVAILABLE_REPLICAS,
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new("Selector", "string", docs::DEPLOYMENT_SPEC_SELECTOR).wide(),
    ],
    cells: |deployment| {
        let (names, images) = containers(deployment, TEMPLATE_CONTAINERS);
        vec![
            format::name(deployment),
            json!(format!(
                "{}/{}",
                int(deployment, "/status/readyReplicas"),
                desired(deployment)
            )),
            json!(int(deployment, "/status/updatedReplicas")),
            json!(int(deployment, "/status/availableReplicas")),
            format::age(deployment),
            names,
            images,
            // Unlike the other workloads, the bare selector: empty rather than `<none>`.
            json!(selector_string(deployment, "/spec/selector")),
        ]
    },
};

pub(super) const STATEFUL_SETS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Ready",
            "string",
            "The ready column, computed as upstream's printer does.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
    ],
    cells: |set| {
        let (names, images) = containers(set, TEMPLATE_CONTAINERS);
        vec![
            format::name(set),
            json!(format!(
                "{}/{}",
                int(set, "/status/readyReplicas"),
                desired(set)
            )),
            format::age(set),
            names,
            images,
        ]
    },
};

pub(super) const DAEMON_SETS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Desired",
            "integer",
            docs::DAEMON_SET_STATUS_DESIRED_NUMBER_SCHEDULED,
        ),
        Column::new(
            "Current",
            "integer",
            docs::DAEMON_SET_STATUS_CURRENT_NUMBER_SCHEDULED,
        ),
        Column::new("Ready", "integer", docs::DAEMON_SET_STATUS_NUMBER_READY),
        Column::new(
            "Up-to-date",
            "integer",
            docs::DAEMON_SET_STATUS_UPDATED_NUMBER_SCHEDULED,
        ),
        Column::new(
            "Available",
            "integer",
            docs::DAEMON_SET_STATUS_NUMBER_AVAILABLE,
        ),
        Column::new("Node Selector", "string", docs::POD_SPEC_NODE_SELECTOR),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new("Selector", "string", docs::DAEMON_SET_SPEC_SELECTOR).wide(),
    ],
    cells: |set| {
        let (names, images) = containers(set, TEMPLATE_CONTAINERS);
        vec![
            format::name(set),
            json!(int(set, "/status/desiredNumberScheduled")),
            json!(int(set, "/status/currentNumberScheduled")),
            json!(int(set, "/status/numberReady")),
            json!(int(set, "/status/updatedNumberScheduled")),
            json!(int(set, "/status/numberAvailable")),
            json!(format_labels(set, "/spec/template/spec/nodeSelector")),
            format::age(set),
            names,
            images,
            json!(format_label_selector(set, "/spec/selector")),
        ]
    },
};

pub(super) const CONTROLLER_REVISIONS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Controller",
            "string",
            "The controller column, computed as upstream's printer does.",
        ),
        Column::new("Revision", "string", docs::CONTROLLER_REVISION_REVISION),
        AGE,
    ],
    cells: |revision| {
        vec![
            format::name(revision),
            json!(controller(revision)),
            json!(int(revision, "/revision")),
            format::age(revision),
        ]
    },
};

/// The controlling owner as `kind.group/name` (lowercased kind and group), `<none>` without one.
fn controller(object: &Value) -> String {
    let Some(owner) = items(object, "/metadata/ownerReferences")
        .iter()
        .find(|o| o["controller"] == true)
    else {
        return "<none>".to_owned();
    };
    let group = owner["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map_or("", |(group, _)| group);
    let kind = owner["kind"].as_str().unwrap_or("");
    let name = owner["name"].as_str().unwrap_or("");
    match (group, kind) {
        ("", "") => name.to_owned(),
        ("", kind) => format!("{}/{name}", kind.to_lowercase()),
        (group, kind) => format!("{}.{}/{name}", kind.to_lowercase(), group.to_lowercase()),
    }
}

/// The status of the first condition of a type, as upstream's `hasJobCondition`.
fn job_condition(job: &Value, kind: &str) -> bool {
    format::condition(job, "/status/conditions", kind) == "True"
}

pub(super) const JOBS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Status",
            "string",
            "The status column, computed as upstream's printer does.",
        ),
        Column::new("Completions", "string", docs::JOB_STATUS_SUCCEEDED),
        Column::new(
            "Duration",
            "string",
            "The duration column, computed as upstream's printer does.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new("Selector", "string", docs::JOB_SPEC_SELECTOR).wide(),
    ],
    cells: |job| {
        let succeeded = int(job, "/status/succeeded");
        let completions = match opt_int(job, "/spec/completions") {
            Some(completions) => format!("{succeeded}/{completions}"),
            None => match int(job, "/spec/parallelism") {
                parallelism if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
                _ => format!("{succeeded}/1"),
            },
        };
        let duration = match (
            timestamp(job, "/status/startTime"),
            timestamp(job, "/status/completionTime"),
        ) {
            (None, _) => String::new(),
            (Some(start), None) => super::since(start),
            (Some(start), Some(end)) => match end.checked_sub(start) {
                Some(elapsed) => super::human_duration(elapsed),
                None if start - end > 1 => "<invalid>".to_owned(),
                None => "0s".to_owned(),
            },
        };
        let status = if job_condition(job, "Complete") {
            "Complete"
        } else if job_condition(job, "Failed") {
            "Failed"
        } else if is_set(job, "/metadata/deletionTimestamp") {
            "Terminating"
        } else if job_condition(job, "Suspended") {
            "Suspended"
        } else if job_condition(job, "FailureTarget") {
            "FailureTarget"
        } else {
            "Running"
        };
        let (names, images) = containers(job, TEMPLATE_CONTAINERS);
        vec![
            format::name(job),
            json!(status),
            json!(completions),
            json!(duration),
            format::age(job),
            names,
            images,
            json!(format_label_selector(job, "/spec/selector")),
        ]
    },
};

pub(super) const CRON_JOBS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Schedule", "string", docs::CRON_JOB_SPEC_SCHEDULE),
        Column::new("Timezone", "string", docs::CRON_JOB_SPEC_TIME_ZONE),
        Column::new("Suspend", "boolean", docs::CRON_JOB_SPEC_SUSPEND),
        Column::new("Active", "integer", docs::CRON_JOB_STATUS_ACTIVE),
        Column::new(
            "Last Schedule",
            "string",
            docs::CRON_JOB_STATUS_LAST_SCHEDULE_TIME,
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::new("Selector", "string", docs::JOB_SPEC_SELECTOR).wide(),
    ],
    cells: |cron| {
        let last_schedule = if is_set(cron, "/status/lastScheduleTime") {
            format::since(cron, "/status/lastScheduleTime")
        } else {
            "<none>".to_owned()
        };
        let (names, images) = containers(cron, "/spec/jobTemplate/spec/template/spec/containers");
        vec![
            format::name(cron),
            json!(text(cron, "/spec/schedule")),
            json!(or(text(cron, "/spec/timeZone"), "<none>")),
            // A string although the column says boolean, as upstream's printBoolPtr.
            json!(bool_pointer(cron, "/spec/suspend")),
            json!(format::len(cron, "/status/active")),
            json!(last_schedule),
            format::age(cron),
            names,
            images,
            json!(format_label_selector(
                cron,
                "/spec/jobTemplate/spec/selector"
            )),
        ]
    },
};

pub(super) const HORIZONTAL_POD_AUTOSCALERS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Reference",
            "string",
            docs::HORIZONTAL_POD_AUTOSCALER_SPEC_SCALE_TARGET_REF,
        ),
        Column::new(
            "Targets",
            "string",
            docs::HORIZONTAL_POD_AUTOSCALER_SPEC_METRICS,
        ),
        Column::new(
            "MinPods",
            "string",
            docs::HORIZONTAL_POD_AUTOSCALER_SPEC_MIN_REPLICAS,
        ),
        Column::new(
            "MaxPods",
            "string",
            docs::HORIZONTAL_POD_AUTOSCALER_SPEC_MAX_REPLICAS,
        ),
        Column::new(
            "Replicas",
            "string",
            docs::HORIZONTAL_POD_AUTOSCALER_STATUS_CURRENT_REPLICAS,
        ),
        AGE,
    ],
    // Printed from the `autoscaling/v2` shape; `table::cells` converts v1 objects first.
    cells: |hpa| {
        let reference = format!(
            "{}/{}",
            text(hpa, "/spec/scaleTargetRef/kind"),
            text(hpa, "/spec/scaleTargetRef/name")
        );
        let min = opt_int(hpa, "/spec/minReplicas")
            .map_or_else(|| "<unset>".to_owned(), |m| m.to_string());
        vec![
            format::name(hpa),
            json!(reference),
            json!(hpa_metrics(hpa)),
            json!(min),
            json!(int(hpa, "/spec/maxReplicas")),
            json!(int(hpa, "/status/currentReplicas")),
            format::age(hpa),
        ]
    },
};

/// The metric source field of each `autoscaling/v2` metric type.
fn source_field(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "External" => "external",
        "Pods" => "pods",
        "Object" => "object",
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        _ => return None,
    })
}

/// One metric as `current/target` (upstream's `formatHPAMetrics`): `<unknown>` for a current
/// value not yet observed, `(avg)` for an average value of an object or external metric, the
/// resource name before resource metrics, `%` for utilisation.
fn hpa_metric(spec: &Value, status: Option<&Value>) -> String {
    let kind = spec["type"].as_str().unwrap_or("");
    let Some(field) = source_field(kind) else {
        return "<unknown type>".to_owned();
    };
    let source = &spec[field];
    let target = &source["target"];
    // The matching current metric, if the autoscaler reported one for this source.
    let current = status
        .map(|s| &s[field])
        .filter(|c| c.is_object())
        .map(|c| &c["current"]);
    let unknown = || "<unknown>".to_owned();
    let quantity_of = |value: &Value, key: &str| quantity::show_pointer(value.get(key));
    match field {
        "external" | "object" => {
            if is_set(target, "/averageValue") {
                let now = current
                    .filter(|c| is_set(c, "/averageValue"))
                    .map_or_else(unknown, |c| quantity_of(c, "averageValue"));
                format!("{now}/{} (avg)", quantity_of(target, "averageValue"))
            } else {
                let now = current.map_or_else(unknown, |c| quantity_of(c, "value"));
                format!("{now}/{}", quantity_of(target, "value"))
            }
        }
        "pods" => {
            let now = current.map_or_else(unknown, |c| quantity_of(c, "averageValue"));
            format!("{now}/{}", quantity_of(target, "averageValue"))
        }
        _ => {
            let name = source["name"].as_str().unwrap_or("");
            if is_set(target, "/averageValue") {
                let now = current.map_or_else(unknown, |c| quantity_of(c, "averageValue"));
                format!("{name}: {now}/{}", quantity_of(target, "averageValue"))
            } else {
                let now = current
                    .and_then(|c| opt_int(c, "/averageUtilization"))
                    .map_or_else(unknown, |u| format!("{u}%"));
                let goal = opt_int(target, "/averageUtilization")
                    .map_or_else(|| "<auto>".to_owned(), |u| format!("{u}%"));
                format!("{name}: {now}/{goal}")
            }
        }
    }
}

/// The first two metrics, then ` + N more...`; `<none>` without metrics.
fn hpa_metrics(hpa: &Value) -> String {
    let specs = items(hpa, "/spec/metrics");
    if specs.is_empty() {
        return "<none>".to_owned();
    }
    let statuses = items(hpa, "/status/currentMetrics");
    let shown: Vec<String> = specs
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, spec)| hpa_metric(spec, statuses.get(i)))
        .collect();
    let joined = shown.join(", ");
    if specs.len() > 2 {
        format!("{joined} + {} more...", specs.len() - 2)
    } else {
        joined
    }
}

pub(super) const POD_DISRUPTION_BUDGETS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Min Available",
            "string",
            "The min available column, computed as upstream's printer does.",
        ),
        Column::new(
            "Max Unavailable",
            "string",
            "The max unavailable column, computed as upstream's printer does.",
        ),
        Column::new(
            "Allowed Disruptions",
            "integer",
            "The allowed disruptions column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |pdb| {
        let bound = |pointer: &str| {
            pdb.pointer(pointer)
                .filter(|v| !v.is_null())
                .map_or_else(|| "N/A".to_owned(), int_or_string)
        };
        vec![
            format::name(pdb),
            json!(bound("/spec/minAvailable")),
            json!(bound("/spec/maxUnavailable")),
            json!(int(pdb, "/status/disruptionsAllowed")),
            format::age(pdb),
        ]
    },
};
