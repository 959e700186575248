//! The RBAC objects, kept in memory and followed from the store, as upstream's authorizer reads
//! them from informers: every request is decided without a store read.

use super::rules;
use crate::auth::attributes::Attributes;
use crate::auth::user::User;
use crate::follow;
use crate::registry::Registry;
use crate::status::ApiError;
use gantry_store::KeyValue;
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// Where every RBAC object is stored.
const PREFIX: &str = "/registry/rbac.authorization.k8s.io/";

/// A binding: who, to which role.
#[derive(Debug, Clone)]
struct Binding {
    role_ref: RoleRef,
    subjects: Vec<Subject>,
}

#[derive(Debug, Default)]
struct Objects {
    /// `namespace/name` → rules.
    roles: HashMap<String, Vec<PolicyRule>>,
    /// name → rules.
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    /// store key → (namespace, binding).
    role_bindings: HashMap<String, (String, Binding)>,
    /// store key → binding.
    cluster_role_bindings: HashMap<String, Binding>,
}

/// The policy, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    objects: Arc<RwLock<Objects>>,
}

/// A Role or ClusterRole as stored (read without the typed kinds' apiVersion/kind checks).
#[derive(serde::Deserialize)]
struct AnyRole {
    #[serde(default)]
    rules: Option<Vec<PolicyRule>>,
}

/// A RoleBinding or ClusterRoleBinding as stored.
#[derive(serde::Deserialize)]
struct AnyBinding {
    #[serde(rename = "roleRef")]
    role_ref: RoleRef,
    #[serde(default)]
    subjects: Option<Vec<Subject>>,
}

/// A denial's explanation, as upstream's RBAC authorizer gives it when a binding points at a
/// role that is not there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Whether some rule allowed the request.
    pub allowed: bool,
    /// Why not, when something is worth saying (missing roles).
    pub reason: String,
}

impl Objects {
    fn put(&mut self, key: &str, value: &[u8]) {
        let parts: Vec<&str> = key
            .strip_prefix(PREFIX)
            .unwrap_or_default()
            .split('/')
            .collect();
        match parts.as_slice() {
            ["roles", ns, name] => {
                if let Ok(role) = serde_json::from_slice::<AnyRole>(value) {
                    self.roles
                        .insert(format!("{ns}/{name}"), role.rules.unwrap_or_default());
                }
            }
            ["clusterroles", name] => {
                if let Ok(role) = serde_json::from_slice::<AnyRole>(value) {
                    self.cluster_roles
                        .insert((*name).to_owned(), role.rules.unwrap_or_default());
                }
            }
            ["rolebindings", ns, _] => {
                if let Ok(b) = serde_json::from_slice::<AnyBinding>(value) {
                    let binding = Binding {
                        role_ref: b.role_ref,
                        subjects: b.subjects.unwrap_or_default(),
                    };
                    self.role_bindings
                        .insert(key.to_owned(), ((*ns).to_owned(), binding));
                }
            }
            ["clusterrolebindings", _] => {
                if let Ok(b) = serde_json::from_slice::<AnyBinding>(value) {
                    let binding = Binding {
                        role_ref: b.role_ref,
                        subjects: b.subjects.unwrap_or_default(),
                    };
                    self.cluster_role_bindings.insert(key.to_owned(), binding);
                }
            }
            _ => {}
        }
    }

    fn delete(&mut self, key: &str) {
        let parts: Vec<&str> = key
            .strip_prefix(PREFIX)
            .unwrap_or_default()
            .split('/')
            .collect();
        match parts.as_slice() {
            ["roles", ns, name] => {
                self.roles.remove(&format!("{ns}/{name}"));
            }
            ["clusterroles", name] => {
                self.cluster_roles.remove(*name);
            }
            ["rolebindings", ..] => {
                self.role_bindings.remove(key);
            }
            ["clusterrolebindings", ..] => {
                self.cluster_role_bindings.remove(key);
            }
            _ => {}
        }
    }

    /// The rules a binding grants (in `namespace` for a RoleBinding), or why there are none.
    fn granted(&self, binding: &Binding, namespace: &str) -> Result<&[PolicyRule], String> {
        let name = &binding.role_ref.name;
        match binding.role_ref.kind.as_str() {
            "ClusterRole" => self
                .cluster_roles
                .get(name)
                .map(Vec::as_slice)
                .ok_or_else(|| format!("clusterrole.rbac.authorization.k8s.io {name:?} not found")),
            "Role" => self
                .roles
                .get(&format!("{namespace}/{name}"))
                .map(Vec::as_slice)
                .ok_or_else(|| format!("role.rbac.authorization.k8s.io {name:?} not found")),
            other => Err(format!("unknown role kind {other:?}")),
        }
    }

    /// Visits the rules granted to `user` in `namespace` (cluster-wide ones always), until
    /// `visit` returns true; returns whether it did, and the errors met on the way.
    fn visit(
        &self,
        user: &User,
        namespace: Option<&str>,
        mut visit: impl FnMut(&PolicyRule) -> bool,
    ) -> (bool, Vec<String>) {
        let mut errors = Vec::new();
        for binding in self.cluster_role_bindings.values() {
            if !binding.subjects.iter().any(|s| rules::names(s, "", user)) {
                continue;
            }
            match self.granted(binding, "") {
                Ok(granted) => {
                    if granted.iter().any(&mut visit) {
                        return (true, errors);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let Some(namespace) = namespace.filter(|n| !n.is_empty()) else {
            return (false, errors);
        };
        for (ns, binding) in self.role_bindings.values() {
            if ns != namespace || !binding.subjects.iter().any(|s| rules::names(s, ns, user)) {
                continue;
            }
            match self.granted(binding, ns) {
                Ok(granted) => {
                    if granted.iter().any(&mut visit) {
                        return (true, errors);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        (false, errors)
    }
}

fn namespace_of(attributes: &Attributes) -> Option<&str> {
    match attributes {
        Attributes::Resource { namespace, .. } => namespace.as_deref(),
        Attributes::NonResource { .. } => None,
    }
}

impl Policy {
    /// Whether `user` may do what `attributes` say.
    pub fn decide(&self, user: &User, attributes: &Attributes) -> Verdict {
        let objects = self
            .objects
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (allowed, errors) = objects.visit(user, namespace_of(attributes), |rule| {
            rules::allows(rule, attributes)
        });
        Verdict {
            allowed,
            reason: if allowed || errors.is_empty() {
                String::new()
            } else {
                format!("RBAC: {}", errors.join(", "))
            },
        }
    }

    /// Every rule granted to `user` in `namespace` (cluster-wide ones included), for rules
    /// reviews and escalation checks.
    pub fn rules_of(&self, user: &User, namespace: Option<&str>) -> Vec<PolicyRule> {
        let objects = self
            .objects
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = Vec::new();
        objects.visit(user, namespace, |rule| {
            all.push(rule.clone());
            false
        });
        all
    }

    /// The rules of a role (`ClusterRole`, or `Role` in `namespace`), if it exists.
    pub fn role_rules(&self, kind: &str, namespace: &str, name: &str) -> Option<Vec<PolicyRule>> {
        let objects = self
            .objects
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match kind {
            "ClusterRole" => objects.cluster_roles.get(name).cloned(),
            "Role" => objects.roles.get(&format!("{namespace}/{name}")).cloned(),
            _ => None,
        }
    }

    /// Adds or replaces one object (as stored under `key`), as the follower does.
    pub fn insert(&self, key: &str, object: &serde_json::Value) {
        self.objects
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .put(key, object.to_string().as_bytes());
    }

    /// Reads every RBAC object, then follows the store in the background.
    pub async fn start(registry: &Registry) -> Result<Self, ApiError> {
        let policy = Self::default();
        follow::start(registry, policy.clone()).await?;
        Ok(policy)
    }
}

impl follow::View for Policy {
    const WHAT: &'static str = "RBAC objects";

    fn prefixes(&self) -> Vec<String> {
        vec![PREFIX.to_owned()]
    }

    fn reload(&self, kvs: &[KeyValue]) {
        let mut objects = Objects::default();
        for kv in kvs {
            objects.put(&kv.key, &kv.value);
        }
        *self.objects.write().unwrap_or_else(PoisonError::into_inner) = objects;
    }

    fn apply(&self, changes: &[(String, Option<&[u8]>)]) {
        let mut objects = self.objects.write().unwrap_or_else(PoisonError::into_inner);
        for (key, value) in changes {
            match value {
                Some(value) => objects.put(key, value),
                None => objects.delete(key),
            }
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
