//! Per-kind rules the generic registry asks for, in upstream's fixed order: prepare (reset what a
//! client may not set), default, validate. One small strategy per kind; anything a kind does not
//! override follows the generic rules.

use crate::meta::NameRule;
use crate::status::Cause;
use gantry_api::catalogue::Resource;
use serde_json::{Value, json};

/// The rules for one resource.
#[derive(Debug, Clone, Copy)]
pub struct Strategy {
    /// The resource.
    pub resource: &'static Resource,
    /// How its names are checked.
    pub name_rule: NameRule,
}

impl Strategy {
    /// The strategy for a resource.
    pub fn for_resource(resource: &'static Resource) -> Self {
        let name_rule = match (resource.group, resource.plural) {
            ("", "namespaces") => NameRule::Label,
            ("", "services") => NameRule::Dns1035,
            ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
            _ => NameRule::Subdomain,
        };
        Self {
            resource,
            name_rule,
        }
    }

    /// Whether the resource has a `status` subresource, so that updates of the main resource
    /// leave status alone and status updates leave everything else alone.
    pub fn has_status(&self) -> bool {
        self.resource.subresource("status").is_some()
    }

    /// Whether `metadata.generation` moves when the object's desired state changes (kinds with a
    /// `spec`), as upstream's strategies do.
    pub fn tracks_generation(&self, object: &Value) -> bool {
        object.get("spec").is_some()
    }

    /// The status a new object starts with (clients cannot set status on create).
    pub fn initial_status(&self) -> Option<Value> {
        match (self.resource.group, self.resource.plural) {
            ("", "namespaces") => Some(json!({"phase": "Active"})),
            ("", "pods") => Some(json!({"phase": "Pending", "qosClass": "BestEffort"})),
            ("", "persistentvolumeclaims" | "persistentvolumes") => {
                Some(json!({"phase": "Pending"}))
            }
            _ => None,
        }
    }

    /// What the server sets on a new object whatever the client sent: a
    /// CertificateSigningRequest records who asked (upstream's strategy does the same, so that
    /// approvers can trust `spec.username` and `spec.groups`).
    pub fn prepare_for_create(&self, object: &mut Value) {
        if (self.resource.group, self.resource.plural)
            != ("certificates.k8s.io", "certificatesigningrequests")
        {
            return;
        }
        let user = crate::auth::user::current().unwrap_or_default();
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("username".into(), json!(user.name));
            spec.insert("groups".into(), json!(user.groups));
            if user.uid.is_empty() {
                spec.remove("uid");
            } else {
                spec.insert("uid".into(), json!(user.uid));
            }
            if user.extra.is_empty() {
                spec.remove("extra");
            } else {
                spec.insert("extra".into(), json!(user.extra));
            }
        }
    }

    /// Kind-specific validation beyond metadata.
    pub fn validate(&self, object: &Value) -> Vec<Cause> {
        let mut causes = Vec::new();
        if let ("", "pods") = (self.resource.group, self.resource.plural) {
            let containers = object.pointer("/spec/containers").and_then(Value::as_array);
            if containers.is_none_or(|c| c.is_empty()) {
                causes.push(Cause::required("spec.containers", ""));
            }
        }
        causes
    }
}
