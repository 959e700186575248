//! Who may do what, and what checks it: RBAC role bindings and cluster role bindings,
//! certificate signing requests, admission webhook configurations and validating admission
//! policies with their bindings.

use super::format::{is_set, items, len, opt_int, text};
use super::{AGE, Column, NAME, Printer, docs, format};
use serde_json::{Value, json};

/// The columns of role bindings and cluster role bindings, which differ only in descriptions.
const fn binding_columns(
    role_ref: &'static str,
    users: &'static str,
    groups: &'static str,
    service_accounts: &'static str,
) -> [Column; 6] {
    [
        NAME,
        Column::new("Role", "string", role_ref),
        AGE,
        Column::new("Users", "string", users).wide(),
        Column::new("Groups", "string", groups).wide(),
        Column::new("ServiceAccounts", "string", service_accounts).wide(),
    ]
}

pub(super) const ROLE_BINDINGS: Printer = Printer {
    columns: &binding_columns(
        docs::ROLE_BINDING_ROLE_REF,
        "Users in the roleBinding",
        "Groups in the roleBinding",
        "ServiceAccounts in the roleBinding",
    ),
    cells: binding_cells,
};

pub(super) const CLUSTER_ROLE_BINDINGS: Printer = Printer {
    columns: &binding_columns(
        docs::CLUSTER_ROLE_BINDING_ROLE_REF,
        "Users in the clusterRoleBinding",
        "Groups in the clusterRoleBinding",
        "ServiceAccounts in the clusterRoleBinding",
    ),
    cells: binding_cells,
};

/// The role as `Kind/name`, then the subjects by kind (upstream's `SubjectsStrings`): users and
/// groups by name, service accounts as `namespace/name`, each list joined by `, `.
fn binding_cells(binding: &Value) -> Vec<Value> {
    let subjects = items(binding, "/subjects");
    let of = |kind: &str| {
        subjects
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| {
                let name = s["name"].as_str().unwrap_or("");
                if kind == "ServiceAccount" {
                    format!("{}/{name}", s["namespace"].as_str().unwrap_or(""))
                } else {
                    name.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        format::name(binding),
        json!(format!(
            "{}/{}",
            text(binding, "/roleRef/kind"),
            text(binding, "/roleRef/name")
        )),
        format::age(binding),
        json!(of("User")),
        json!(of("Group")),
        json!(of("ServiceAccount")),
    ]
}

pub(super) const CERTIFICATE_SIGNING_REQUESTS: Printer = Printer {
    columns: &[
        NAME,
        AGE,
        Column::new(
            "SignerName",
            "string",
            docs::CERTIFICATE_SIGNING_REQUEST_SPEC_SIGNER_NAME,
        ),
        Column::new(
            "Requestor",
            "string",
            docs::CERTIFICATE_SIGNING_REQUEST_SPEC_REQUEST,
        ),
        Column::new(
            "RequestedDuration",
            "string",
            docs::CERTIFICATE_SIGNING_REQUEST_SPEC_EXPIRATION_SECONDS,
        ),
        Column::new(
            "Condition",
            "string",
            docs::CERTIFICATE_SIGNING_REQUEST_STATUS_CONDITIONS,
        ),
    ],
    cells: |csr| {
        let duration = opt_int(csr, "/spec/expirationSeconds").map_or_else(
            || "<none>".to_owned(),
            |s| super::human_duration(u64::try_from(s).unwrap_or(0)),
        );
        vec![
            format::name(csr),
            format::age(csr),
            json!(format::or(text(csr, "/spec/signerName"), "<none>")),
            json!(text(csr, "/spec/username")),
            json!(duration),
            json!(csr_condition(csr)),
        ]
    },
};

/// `Denied`, else `Approved`, else `Pending`; then `,Failed` and `,Issued` when they apply.
fn csr_condition(csr: &Value) -> String {
    let has = |kind: &str| {
        items(csr, "/status/conditions")
            .iter()
            .any(|c| c["type"] == kind)
    };
    let mut status = if has("Denied") {
        "Denied".to_owned()
    } else if has("Approved") {
        "Approved".to_owned()
    } else {
        "Pending".to_owned()
    };
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !text(csr, "/status/certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}

/// The columns of both kinds of webhook configuration.
const WEBHOOK_COLUMNS: &[Column] = &[
    NAME,
    Column::new(
        "Webhooks",
        "integer",
        "The webhooks column, computed as upstream's printer does.",
    ),
    AGE,
];

/// The name, the number of webhooks and the age.
fn webhook_cells(configuration: &Value) -> Vec<Value> {
    vec![
        format::name(configuration),
        json!(len(configuration, "/webhooks")),
        format::age(configuration),
    ]
}

pub(super) const MUTATING_WEBHOOK_CONFIGURATIONS: Printer = Printer {
    columns: WEBHOOK_COLUMNS,
    cells: webhook_cells,
};

pub(super) const VALIDATING_WEBHOOK_CONFIGURATIONS: Printer = Printer {
    columns: WEBHOOK_COLUMNS,
    cells: webhook_cells,
};

pub(super) const VALIDATING_ADMISSION_POLICIES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Validations",
            "integer",
            "The validations column, computed as upstream's printer does.",
        ),
        Column::new(
            "ParamKind",
            "string",
            "The paramkind column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |policy| {
        let param_kind = if is_set(policy, "/spec/paramKind") {
            format!(
                "{}/{}",
                text(policy, "/spec/paramKind/apiVersion"),
                text(policy, "/spec/paramKind/kind")
            )
        } else {
            "<unset>".to_owned()
        };
        vec![
            format::name(policy),
            json!(len(policy, "/spec/validations")),
            json!(param_kind),
            format::age(policy),
        ]
    },
};

pub(super) const VALIDATING_ADMISSION_POLICY_BINDINGS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "PolicyName",
            "string",
            "The policyname column, computed as upstream's printer does.",
        ),
        Column::new(
            "ParamRef",
            "string",
            "The paramref column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |binding| {
        vec![
            format::name(binding),
            json!(text(binding, "/spec/policyName")),
            json!(param_ref(binding)),
            format::age(binding),
        ]
    },
};

/// `namespace/name`, `*/name` without a namespace (it may be cluster-scoped), or the selector;
/// `<unset>` without a parameter reference.
fn param_ref(binding: &Value) -> String {
    if !is_set(binding, "/spec/paramRef") {
        return "<unset>".to_owned();
    }
    let name = text(binding, "/spec/paramRef/name");
    if !name.is_empty() {
        let namespace = text(binding, "/spec/paramRef/namespace");
        let namespace = if namespace.is_empty() { "*" } else { namespace };
        return format!("{namespace}/{name}");
    }
    match binding.pointer("/spec/paramRef/selector") {
        Some(selector) if !selector.is_null() => go_label_selector(selector),
        _ => "<unset>".to_owned(),
    }
}

/// A `metav1.LabelSelector` as its generated Go `String()` method prints it, which is what
/// upstream shows for a parameter selector:
/// `&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}`.
fn go_label_selector(selector: &Value) -> String {
    let mut labels: Vec<(&String, &str)> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    labels.sort_unstable();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().unwrap_or(""))
                .collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                e["key"].as_str().unwrap_or(""),
                e["operator"].as_str().unwrap_or(""),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}
