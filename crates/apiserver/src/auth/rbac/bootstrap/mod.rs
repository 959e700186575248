//! The roles and bindings every cluster starts with — upstream 1.33's bootstrap policy with
//! default feature gates ([`roles`], [`controllers`], [`bindings`]) plus Gantry's own few
//! ([`gantry`]) — and their reconciliation at start, as upstream's `rbac/bootstrap-roles` hook
//! does it: missing objects are created, existing ones not marked
//! `rbac.authorization.kubernetes.io/autoupdate: "false"` get the rules (or subjects) they lack;
//! nothing is removed.

pub mod bindings;
pub mod controllers;
pub mod gantry;
pub mod reconcile;
pub mod roles;

use serde_json::{Value, json};

/// One rule: API groups × resources × verbs (optionally only some names), or non-resource
/// URLs × verbs.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// A resource rule.
    Resources(
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ),
    /// A resource rule limited to some names: groups, resources, names, verbs.
    Named(
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ),
    /// A non-resource rule: URLs, verbs.
    Urls(&'static [&'static str], &'static [&'static str]),
}

/// A role of the policy.
#[derive(Debug, Clone, Copy)]
pub struct RoleSpec {
    /// Its name.
    pub name: &'static str,
    /// The `rbac.authorization.k8s.io/aggregate-to-<x>` labels it carries (`<x>` only).
    pub aggregate_to: &'static [&'static str],
    /// For an aggregated role, the `aggregate-to-<x>` labels it gathers (`<x>` only); its
    /// rules are then the aggregation controller's.
    pub aggregates: &'static [&'static str],
    /// Its rules.
    pub rules: &'static [Rule],
}

/// A subject: `("User"|"Group", name)` or `("ServiceAccount", "namespace/name")`.
pub type SubjectSpec = (&'static str, &'static str);

/// A binding of the policy.
#[derive(Debug, Clone, Copy)]
pub struct BindingSpec {
    /// Its name.
    pub name: &'static str,
    /// The role's kind (`ClusterRole` or `Role`) and name.
    pub role: (&'static str, &'static str),
    /// Its subjects.
    pub subjects: &'static [SubjectSpec],
}

/// `get`, `list`, `watch`.
pub const READ: &[&str] = &["get", "list", "watch"];
/// `create`, `delete`, `deletecollection`, `patch`, `update`.
pub const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
/// Both.
pub const READ_WRITE: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Recording events, which almost every component does.
pub const EVENTS: Rule = Rule::Resources(
    &["", "events.k8s.io"],
    &["events"],
    &["create", "patch", "update"],
);

fn strings(list: &[&str]) -> Value {
    json!(list)
}

impl Rule {
    /// The rule as JSON.
    pub fn to_json(self) -> Value {
        match self {
            Self::Resources(groups, resources, verbs) => json!({
                "apiGroups": strings(groups), "resources": strings(resources), "verbs": strings(verbs),
            }),
            Self::Named(groups, resources, names, verbs) => json!({
                "apiGroups": strings(groups), "resources": strings(resources),
                "resourceNames": strings(names), "verbs": strings(verbs),
            }),
            Self::Urls(urls, verbs) => {
                json!({"nonResourceURLs": strings(urls), "verbs": strings(verbs)})
            }
        }
    }
}

fn bootstrap_metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    metadata
}

impl RoleSpec {
    /// The role as a `ClusterRole` (no namespace) or `Role` object.
    pub fn to_json(&self, namespace: Option<&str>) -> Value {
        let mut metadata = bootstrap_metadata(self.name, namespace);
        for label in self.aggregate_to {
            metadata["labels"][format!("rbac.authorization.k8s.io/aggregate-to-{label}")] =
                json!("true");
        }
        let kind = if namespace.is_some() {
            "Role"
        } else {
            "ClusterRole"
        };
        let mut role = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": metadata,
        });
        if self.aggregates.is_empty() {
            role["rules"] = Value::Array(self.rules.iter().map(|r| r.to_json()).collect());
        } else {
            let selectors: Vec<Value> = self
                .aggregates
                .iter()
                .map(|label| {
                    json!({"matchLabels": {format!("rbac.authorization.k8s.io/aggregate-to-{label}"): "true"}})
                })
                .collect();
            role["aggregationRule"] = json!({"clusterRoleSelectors": selectors});
        }
        role
    }
}

impl BindingSpec {
    /// The binding as a `ClusterRoleBinding` (no namespace) or `RoleBinding` object.
    pub fn to_json(&self, namespace: Option<&str>) -> Value {
        let subjects: Vec<Value> = self
            .subjects
            .iter()
            .map(|(kind, name)| match (*kind, name.split_once('/')) {
                ("ServiceAccount", Some((ns, account))) => {
                    json!({"kind": "ServiceAccount", "name": account, "namespace": ns})
                }
                _ => json!({"kind": kind, "name": name, "apiGroup": "rbac.authorization.k8s.io"}),
            })
            .collect();
        let kind = if namespace.is_some() {
            "RoleBinding"
        } else {
            "ClusterRoleBinding"
        };
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": bootstrap_metadata(self.name, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": self.role.0, "name": self.role.1},
            "subjects": subjects,
        })
    }
}

/// Every cluster role of the policy.
pub fn cluster_roles() -> impl Iterator<Item = &'static RoleSpec> {
    roles::CLUSTER_ROLES
        .iter()
        .chain(controllers::CONTROLLER_ROLES)
        .chain(gantry::CLUSTER_ROLES)
}

/// Every cluster role binding of the policy, controller roles' bindings included.
pub fn cluster_role_bindings() -> Vec<Value> {
    let mut all: Vec<Value> = bindings::CLUSTER_ROLE_BINDINGS
        .iter()
        .chain(gantry::CLUSTER_ROLE_BINDINGS)
        .map(|b| b.to_json(None))
        .collect();
    // Each controller role is bound to the controller's ServiceAccount in kube-system.
    for role in controllers::CONTROLLER_ROLES {
        let account = role.name.trim_start_matches("system:controller:");
        all.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": bootstrap_metadata(role.name, None),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role.name},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "kube-system"}],
        }));
    }
    all
}

/// Every namespaced role of the policy: `(namespace, role)`.
pub fn namespace_roles() -> impl Iterator<Item = &'static (&'static str, RoleSpec)> {
    bindings::NAMESPACE_ROLES
        .iter()
        .chain(gantry::NAMESPACE_ROLES)
}

/// Every namespaced role binding of the policy: `(namespace, binding)`.
pub fn namespace_role_bindings() -> impl Iterator<Item = &'static (&'static str, BindingSpec)> {
    bindings::NAMESPACE_ROLE_BINDINGS
        .iter()
        .chain(gantry::NAMESPACE_ROLE_BINDINGS)
}
