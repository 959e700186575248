//! The built-in kinds' schemas, generated once from the Rust types of the API (k8s-openapi's
//! `schemars` support, in OpenAPI 3 form, named as upstream names them:
//! `io.k8s.api.apps.v1.Deployment`). They serve the OpenAPI v3 documents (`kubectl explain`
//! reads the descriptions) and field validation: fields a kind does not have are dropped as
//! upstream's typed decoding drops them, and reported per the request's `fieldValidation`.

use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Where the generated schemas refer to each other.
const REF_PREFIX: &str = "#/components/schemas/";

/// Every built-in kind's schema and the schemas they use.
#[derive(Debug)]
pub struct Schemas {
    /// Schema name → schema (`components.schemas`).
    pub definitions: Map<String, Value>,
    /// `(group, version, kind)` → schema name.
    kinds: HashMap<(&'static str, &'static str, &'static str), String>,
}

/// The kinds the catalogue serves, by their k8s-openapi types.
macro_rules! generate {
    ($($ty:ty),* $(,)?) => {
        fn generate() -> Schemas {
            use k8s_openapi::Resource as _;
            let mut generator = SchemaSettings::openapi3().into_generator();
            let mut kinds = HashMap::new();
            $(
                let reference = generator.subschema_for::<$ty>();
                if let Some(name) = reference
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix(REF_PREFIX))
                {
                    kinds.insert((<$ty>::GROUP, <$ty>::VERSION, <$ty>::KIND), name.to_owned());
                }
            )*
            Schemas { definitions: generator.take_definitions(true), kinds }
        }
    };
}

generate!(
    k8s_openapi::api::core::v1::Binding,
    k8s_openapi::api::core::v1::ComponentStatus,
    k8s_openapi::api::core::v1::ConfigMap,
    k8s_openapi::api::core::v1::Endpoints,
    k8s_openapi::api::core::v1::Event,
    k8s_openapi::api::core::v1::LimitRange,
    k8s_openapi::api::core::v1::Namespace,
    k8s_openapi::api::core::v1::Node,
    k8s_openapi::api::core::v1::PersistentVolumeClaim,
    k8s_openapi::api::core::v1::PersistentVolume,
    k8s_openapi::api::core::v1::Pod,
    k8s_openapi::api::core::v1::PodTemplate,
    k8s_openapi::api::core::v1::ReplicationController,
    k8s_openapi::api::core::v1::ResourceQuota,
    k8s_openapi::api::core::v1::Secret,
    k8s_openapi::api::core::v1::ServiceAccount,
    k8s_openapi::api::core::v1::Service,
    k8s_openapi::api::apps::v1::ControllerRevision,
    k8s_openapi::api::apps::v1::DaemonSet,
    k8s_openapi::api::apps::v1::Deployment,
    k8s_openapi::api::apps::v1::ReplicaSet,
    k8s_openapi::api::apps::v1::StatefulSet,
    k8s_openapi::api::events::v1::Event,
    k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler,
    k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    k8s_openapi::api::batch::v1::CronJob,
    k8s_openapi::api::batch::v1::Job,
    k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    k8s_openapi::api::authentication::v1::SelfSubjectReview,
    k8s_openapi::api::authentication::v1::TokenReview,
    k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
    k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
    k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
    k8s_openapi::api::authorization::v1::SubjectAccessReview,
    k8s_openapi::api::networking::v1::IngressClass,
    k8s_openapi::api::networking::v1::Ingress,
    k8s_openapi::api::networking::v1::IPAddress,
    k8s_openapi::api::networking::v1::NetworkPolicy,
    k8s_openapi::api::networking::v1::ServiceCIDR,
    k8s_openapi::api::policy::v1::PodDisruptionBudget,
    k8s_openapi::api::rbac::v1::ClusterRoleBinding,
    k8s_openapi::api::rbac::v1::ClusterRole,
    k8s_openapi::api::rbac::v1::RoleBinding,
    k8s_openapi::api::rbac::v1::Role,
    k8s_openapi::api::storage::v1::CSIDriver,
    k8s_openapi::api::storage::v1::CSINode,
    k8s_openapi::api::storage::v1::CSIStorageCapacity,
    k8s_openapi::api::storage::v1::StorageClass,
    k8s_openapi::api::storage::v1::VolumeAttachment,
    k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    k8s_openapi::api::scheduling::v1::PriorityClass,
    k8s_openapi::api::coordination::v1::Lease,
    k8s_openapi::api::node::v1::RuntimeClass,
    k8s_openapi::api::discovery::v1::EndpointSlice,
);

/// The schemas, generated on first use.
pub fn get() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(generate)
}

impl Schemas {
    /// The schema name of a built-in kind.
    pub fn name_of(&self, resource: &Resource) -> Option<&str> {
        self.kinds
            .get(&(resource.group, resource.version, resource.kind))
            .map(String::as_str)
    }

    /// `schema` with a reference (`$ref`, or upstream's `allOf: [{$ref}]` wrapping) followed.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let reference = schema.get("$ref").or_else(|| {
            schema
                .get("allOf")
                .and_then(Value::as_array)
                .filter(|all| all.len() == 1)
                .and_then(|all| all[0].get("$ref"))
        });
        reference
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(REF_PREFIX))
            .and_then(|name| self.definitions.get(name))
            .unwrap_or(schema)
    }

    /// The named schemas and every schema they refer to, by name.
    pub fn closure(&self, roots: &[&str]) -> Map<String, Value> {
        let mut out = Map::new();
        let mut pending: Vec<String> = roots.iter().map(|r| (*r).to_owned()).collect();
        while let Some(name) = pending.pop() {
            if out.contains_key(&name) {
                continue;
            }
            let Some(schema) = self.definitions.get(&name) else {
                continue;
            };
            collect_refs(schema, &mut pending);
            out.insert(name, schema.clone());
        }
        out
    }

    /// Drops the fields of `object` that its kind does not have; returns their paths
    /// (`spec.bogus`, `spec.template.spec.containers[0].bogus`).
    pub fn prune(&self, resource: &Resource, object: &mut Value) -> Vec<String> {
        let Some(root) = self
            .name_of(resource)
            .and_then(|name| self.definitions.get(name))
        else {
            return Vec::new();
        };
        let mut dropped = Vec::new();
        self.prune_at(root, object, "", &mut dropped);
        dropped.sort();
        dropped
    }

    fn prune_at(&self, schema: &Value, value: &mut Value, path: &str, dropped: &mut Vec<String>) {
        let schema = self.resolve(schema);
        match value {
            Value::Object(map) => {
                let additional = schema.get("additionalProperties").filter(|a| a.is_object());
                match schema.get("properties").and_then(Value::as_object) {
                    Some(properties) => {
                        let open = additional.is_some()
                            || schema.get("x-kubernetes-preserve-unknown-fields")
                                == Some(&Value::Bool(true));
                        map.retain(|key, _| {
                            let known = open || properties.contains_key(key);
                            if !known {
                                dropped.push(crate::schema::child_path(path, key));
                            }
                            known
                        });
                        for (key, child) in map.iter_mut() {
                            if let Some(sub) = properties.get(key) {
                                let at = crate::schema::child_path(path, key);
                                self.prune_at(sub, child, &at, dropped);
                            }
                        }
                    }
                    // A map (`labels`, `resources.limits`): each value by the value schema.
                    None => {
                        if let Some(values) = additional {
                            for (key, child) in map.iter_mut() {
                                let at = crate::schema::child_path(path, key);
                                self.prune_at(values, child, &at, dropped);
                            }
                        }
                        // Neither: free-form (`RawExtension`, JSON), kept whole.
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, child) in items.iter_mut().enumerate() {
                        self.prune_at(item, child, &format!("{path}[{i}]"), dropped);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Drops the fields a built-in object's kind does not have (nothing for custom kinds, which
/// their own schemas prune), reporting them as the request's field validation asks.
pub fn admit(resource: &Resource, object: &mut Value) -> Result<(), ApiError> {
    let dropped = get().prune(resource, object);
    crate::warnings::unknown_fields(resource, &dropped)
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX))
            {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployments() -> &'static Resource {
        gantry_api::catalogue::find("apps", "v1", "deployments").unwrap()
    }

    #[test]
    fn every_served_built_in_kind_has_a_schema_with_descriptions() {
        let schemas = get();
        for resource in gantry_api::catalogue::resources() {
            assert!(
                schemas.name_of(resource).is_some(),
                "no schema for {}/{} {}",
                resource.group,
                resource.version,
                resource.kind
            );
        }
        let name = schemas.name_of(deployments()).unwrap();
        assert_eq!(name, "io.k8s.api.apps.v1.Deployment");
        let strategy = schemas.resolve(&schemas.definitions[name]["properties"]["spec"]);
        let strategy = schemas.resolve(&strategy["properties"]["strategy"]);
        assert!(
            strategy["description"]
                .as_str()
                .unwrap()
                .contains("replace existing pods")
        );
        let closure = schemas.closure(&[name]);
        assert!(closure.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(!closure.contains_key("io.k8s.api.core.v1.Node"));
    }

    #[test]
    fn unknown_fields_are_dropped_and_reported_with_their_paths() {
        let mut object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "b"}, "bogusMeta": 1},
            "spec": {"replicas": 1, "bogus": true, "selector": {"matchLabels": {"a": "b"}},
                "template": {"spec": {"containers": [{"name": "c", "image": "i", "wrong": 1,
                    "resources": {"limits": {"cpu": "1"}}}]}}}});
        let dropped = get().prune(deployments(), &mut object);
        assert_eq!(
            dropped,
            [
                "metadata.bogusMeta",
                "spec.bogus",
                "spec.template.spec.containers[0].wrong"
            ]
        );
        assert!(object["spec"].get("bogus").is_none());
        assert_eq!(
            object["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            "1"
        );
        assert_eq!(object["metadata"]["labels"]["a"], "b");
    }
}
