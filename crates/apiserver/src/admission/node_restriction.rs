//! Upstream's NodeRestriction admission, the Node authorizer's other half: what a node may
//! write at all (pods, Nodes, Leases, …), it may write only for itself — its own Node (without
//! touching its taints or restricted labels), mirror pods bound to it that reference nothing,
//! the status of its own pods, tokens bound to its own pods, its own Lease and CSINode, and
//! certificate requests in its own name. Other users are not affected.

use crate::auth::node::node_name;
use crate::auth::user;
use crate::registry::Registry;
use crate::status::ApiError;
use gantry_api::catalogue::{self, Resource};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What a write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// POST.
    Create,
    /// PUT or PATCH.
    Update,
    /// DELETE.
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

/// One write, as the plugin sees it.
#[derive(Debug)]
pub struct Write<'a> {
    /// The resource written.
    pub resource: &'a Resource,
    /// The subresource, if any.
    pub subresource: Option<&'a str>,
    /// What is done.
    pub op: Op,
    /// The object's name.
    pub name: &'a str,
    /// Its namespace, if namespaced.
    pub namespace: Option<&'a str>,
    /// The object written (create, update).
    pub new: Option<&'a Value>,
    /// The object before (update, delete).
    pub old: Option<&'a Value>,
}

/// The node the current request comes from, if a node sent it (`Some("")` for a node user
/// without a name).
pub fn requesting_node() -> Option<String> {
    user::with_current(|user| node_name(user).map(str::to_owned)).flatten()
}

fn text<'a>(value: Option<&'a Value>, pointer: &str) -> &'a str {
    value
        .and_then(|v| v.pointer(pointer))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Upstream's `admission.NewForbidden`: the resource without its subresource, the request's
/// name (else the object's).
fn forbidden(write: &Write<'_>, message: &str) -> ApiError {
    let name = if write.name.is_empty() {
        text(write.new, "/metadata/name")
    } else {
        write.name
    };
    ApiError::forbidden_because(write.resource.group, write.resource.plural, name, message)
}

impl Registry {
    /// NodeRestriction on one write; nothing to say unless a node sent it.
    pub(crate) async fn admit_node_restriction(&self, write: Write<'_>) -> Result<(), ApiError> {
        let Some(node) = requesting_node() else {
            return Ok(());
        };
        if node.is_empty() {
            return Err(forbidden(
                &write,
                &format!(
                    "could not determine node from user {:?}",
                    user::current().map(|u| u.name).unwrap_or_default()
                ),
            ));
        }
        let refusal = match (write.resource.group, write.resource.plural) {
            ("", "pods") => self.pod(&node, &write).await?,
            ("", "nodes") => own_node(&node, &write),
            ("", "persistentvolumeclaims") => claim(&node, &write),
            ("coordination.k8s.io", "leases") => named_after_node(&node, &write, true),
            ("storage.k8s.io", "csinodes") => named_after_node(&node, &write, false),
            ("certificates.k8s.io", "certificatesigningrequests") => csr(&node, &write),
            _ => None,
        };
        match refusal {
            Some(message) => Err(forbidden(&write, &message)),
            None => Ok(()),
        }
    }

    async fn pod(&self, node: &str, write: &Write<'_>) -> Result<Option<String>, ApiError> {
        Ok(match (write.subresource, write.op) {
            (None, Op::Create) => self.mirror_pod(node, write).await?,
            (None, Op::Delete) => (text(write.old, "/spec/nodeName") != node).then(|| {
                format!("node {node:?} can only delete pods with spec.nodeName set to itself")
            }),
            (None, op) => Some(format!(
                "unexpected operation {:?}, node {node:?} can only create and delete mirror pods",
                op.as_str()
            )),
            (Some("status"), Op::Update) => pod_status(node, write),
            (Some("status"), op) => Some(format!("unexpected operation {:?}", op.as_str())),
            (Some(sub), _) => Some(format!(
                "unexpected pod subresource {sub:?}, only 'status' and 'eviction' are allowed"
            )),
        })
    }

    /// A node creates only mirror pods of its static pods: bound to it, owned by its Node,
    /// referencing no API object (a static pod must not become a way to read Secrets).
    async fn mirror_pod(&self, node: &str, write: &Write<'_>) -> Result<Option<String>, ApiError> {
        let pod = write.new.unwrap_or(&Value::Null);
        if pod
            .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
            .is_none()
        {
            return Ok(Some(format!(
                "pod does not have \"kubernetes.io/config.mirror\" annotation, node {node:?} can only create mirror pods"
            )));
        }
        if text(Some(pod), "/spec/nodeName") != node {
            return Ok(Some(format!(
                "node {node:?} can only create pods with spec.nodeName set to itself"
            )));
        }
        let owners = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let owner = match owners {
            [owner] => owner,
            [] => {
                return Ok(Some(format!(
                    "node {node:?} can only create pods with an owner reference set to itself"
                )));
            }
            _ => {
                return Ok(Some(format!(
                    "node {node:?} can only create pods with a single owner reference set to itself"
                )));
            }
        };
        let owner_text = |key: &str| owner.get(key).and_then(Value::as_str).unwrap_or("");
        if owner_text("apiVersion") != "v1"
            || owner_text("kind") != "Node"
            || owner_text("name") != node
        {
            return Ok(Some(format!(
                "node {node:?} can only create pods with an owner reference set to itself"
            )));
        }
        if owner.get("controller") != Some(&json!(true)) {
            return Ok(Some(format!(
                "node {node:?} can only create pods with a controller owner reference set to itself"
            )));
        }
        if owner.get("blockOwnerDeletion") == Some(&json!(true)) {
            return Ok(Some(format!(
                "node {node:?} must not set blockOwnerDeletion on an owner reference"
            )));
        }
        let nodes =
            catalogue::find("", "v1", "nodes").ok_or_else(|| ApiError::internal("no nodes"))?;
        let record = self.get(nodes, None, node).await?;
        let uid = text(Some(&record), "/metadata/uid");
        if owner_text("uid") != uid {
            return Ok(Some(format!(
                "node {node} UID mismatch: expected {} got {uid}",
                owner_text("uid")
            )));
        }
        Ok(pod_references(node, pod))
    }
}

impl Registry {
    /// A node's TokenRequest for `account`: bound to one of its own pods (by name and uid), for
    /// no more than one audience, which that pod's projected tokens name unless
    /// `audience_allowed` (upstream's `request-serviceaccounts-token-audience` check) says so.
    pub(crate) async fn admit_node_token(
        &self,
        namespace: &str,
        account: &str,
        request: &Value,
        audience_allowed: impl Fn(&str) -> bool,
    ) -> Result<(), ApiError> {
        let Some(node) = requesting_node() else {
            return Ok(());
        };
        let accounts = catalogue::find("", "v1", "serviceaccounts")
            .ok_or_else(|| ApiError::internal("no serviceaccounts"))?;
        let write = Write {
            resource: accounts,
            subresource: Some("token"),
            op: Op::Create,
            name: account,
            namespace: Some(namespace),
            new: Some(request),
            old: None,
        };
        let refuse = |message: &str| Err(forbidden(&write, message));
        let reference = Some(
            request
                .pointer("/spec/boundObjectRef")
                .unwrap_or(&Value::Null),
        );
        let pod_name = text(reference, "/name");
        if text(reference, "/apiVersion") != "v1"
            || text(reference, "/kind") != "Pod"
            || pod_name.is_empty()
        {
            return refuse("node requested token not bound to a pod");
        }
        let uid = text(reference, "/uid");
        if uid.is_empty() {
            return refuse("node requested token with a pod binding without a uid");
        }
        let pods =
            catalogue::find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"))?;
        let pod = self.get(pods, Some(namespace), pod_name).await?;
        if text(Some(&pod), "/metadata/uid") != uid {
            return refuse(&format!(
                "the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ));
        }
        if text(Some(&pod), "/spec/nodeName") != node {
            return refuse("node requested token bound to a pod scheduled on a different node");
        }
        let audiences: Vec<&str> = request
            .pointer("/spec/audiences")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if audiences.len() > 1 {
            return refuse("node may only request 0 or 1 audiences");
        }
        let audience = audiences.first().copied().unwrap_or("");
        let mounted = pod
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|volume| {
                volume
                    .pointer("/projected/sources")
                    .and_then(Value::as_array)
            })
            .flatten()
            .filter_map(|source| source.get("serviceAccountToken"))
            .any(|token| text(Some(token), "/audience") == audience);
        if mounted || audience_allowed(audience) {
            return Ok(());
        }
        refuse(&format!(
            "audience {audience:?} not found in pod spec volume, system:node:{node} is not authorized to request tokens for this audience"
        ))
    }

    /// A node's eviction: of its own pods only.
    pub(crate) async fn admit_node_eviction(
        &self,
        namespace: &str,
        pod_name: &str,
    ) -> Result<(), ApiError> {
        let Some(node) = requesting_node() else {
            return Ok(());
        };
        let pods =
            catalogue::find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"))?;
        if pod_name.is_empty() {
            return Err(ApiError::forbidden(
                "",
                "pods",
                "",
                "could not determine pod from request data",
            ));
        }
        let pod = self.get(pods, Some(namespace), pod_name).await?;
        if text(Some(&pod), "/spec/nodeName") != node {
            return Err(ApiError::forbidden(
                "",
                "pods",
                pod_name,
                &format!("node {node} can only evict pods with spec.nodeName set to itself"),
            ));
        }
        Ok(())
    }
}

/// What a mirror pod may not reference, in upstream's order.
fn pod_references(node: &str, pod: &Value) -> Option<String> {
    let refuse = |what: &str| {
        Some(format!(
            "node {node:?} can not create pods that reference {what}"
        ))
    };
    if !text(Some(pod), "/spec/serviceAccountName").is_empty() {
        return refuse("a service account");
    }
    let references = crate::auth::node::graph::references(pod);
    if !references.secrets.is_empty() {
        return refuse("secrets");
    }
    if !references.config_maps.is_empty() {
        return refuse("configmaps");
    }
    let volumes = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let projected_bundle = volumes.iter().any(|volume| {
        volume
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .is_some_and(|sources| {
                sources
                    .iter()
                    .any(|s| s.get("clusterTrustBundle").is_some())
            })
    });
    if projected_bundle {
        return refuse("clustertrustbundles");
    }
    if volumes
        .iter()
        .any(|v| v.get("persistentVolumeClaim").is_some())
    {
        return refuse("persistentvolumeclaims");
    }
    if pod
        .pointer("/spec/resourceClaims")
        .and_then(Value::as_array)
        .is_some_and(|claims| !claims.is_empty())
    {
        return refuse("resourceclaims");
    }
    None
}

/// A pod's status, for its own pods only, leaving labels and claim statuses alone.
fn pod_status(node: &str, write: &Write<'_>) -> Option<String> {
    if text(write.old, "/spec/nodeName") != node {
        return Some(format!(
            "node {node:?} can only update pod status for pods with spec.nodeName set to itself"
        ));
    }
    let labels = |object: Option<&Value>| {
        object
            .and_then(|o| o.pointer("/metadata/labels"))
            .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
            .cloned()
    };
    if labels(write.old) != labels(write.new) {
        return Some(format!(
            "node {node:?} cannot update labels through pod status"
        ));
    }
    let claims = |object: Option<&Value>| {
        object
            .and_then(|o| o.pointer("/status/resourceClaimStatuses"))
            .cloned()
    };
    if claims(write.old) != claims(write.new) {
        return Some(format!(
            "node {node:?} cannot update resource claim statues"
        ));
    }
    None
}

/// Whether a node may set a label itself: not `node-restriction.kubernetes.io/`, and of the
/// `kubernetes.io`/`k8s.io` namespaces only the labels the kubelet sets.
fn label_forbidden(key: &str) -> bool {
    const KUBELET_LABELS: &[&str] = &[
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
    ];
    let namespace = key.split_once('/').map_or("", |(ns, _)| ns);
    let under = |domain: &str| namespace == domain || namespace.ends_with(&format!(".{domain}"));
    if under("node-restriction.kubernetes.io") {
        return true;
    }
    if !(under("kubernetes.io") || under("k8s.io")) {
        return false;
    }
    let kubelet_label = KUBELET_LABELS.contains(&key)
        || under("kubelet.kubernetes.io")
        || under("node.kubernetes.io");
    !kubelet_label
}

fn labels_of(object: Option<&Value>) -> Vec<(String, Value)> {
    object
        .and_then(|o| o.pointer("/metadata/labels"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Its own Node only; no taints changed, no restricted labels, no config source.
fn own_node(node: &str, write: &Write<'_>) -> Option<String> {
    if write.name != node {
        return Some(format!(
            "node {node:?} is not allowed to modify node {:?}",
            write.name
        ));
    }
    let config_source = |object: Option<&Value>| {
        object
            .and_then(|o| o.pointer("/spec/configSource"))
            .filter(|v| !v.is_null())
            .cloned()
    };
    match write.op {
        Op::Create => {
            if config_source(write.new).is_some() {
                return Some(format!(
                    "node {node:?} is not allowed to create pods with a non-nil configSource"
                ));
            }
            let forbidden: BTreeSet<String> = labels_of(write.new)
                .into_iter()
                .map(|(key, _)| key)
                .filter(|key| label_forbidden(key))
                .collect();
            if !forbidden.is_empty() {
                return Some(format!(
                    "node {node:?} is not allowed to set the following labels: {}",
                    forbidden.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Op::Update => {
            let new_source = config_source(write.new);
            if new_source.is_some() && new_source != config_source(write.old) {
                return Some(format!(
                    "node {node:?} is not allowed to update configSource to a new non-nil configSource"
                ));
            }
            let taints = |object: Option<&Value>| {
                object
                    .and_then(|o| o.pointer("/spec/taints"))
                    .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
                    .cloned()
            };
            if taints(write.old) != taints(write.new) {
                return Some(format!("node {node:?} is not allowed to modify taints"));
            }
            let (old, new) = (labels_of(write.old), labels_of(write.new));
            let changed: BTreeSet<String> = old
                .iter()
                .filter(|entry| !new.contains(entry))
                .chain(new.iter().filter(|entry| !old.contains(entry)))
                .map(|(key, _)| key.clone())
                .filter(|key| label_forbidden(key))
                .collect();
            if !changed.is_empty() {
                return Some(format!(
                    "is not allowed to modify labels: {}",
                    changed.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Op::Delete => {}
    }
    None
}

/// A claim's status only (the kubelet reports volume expansion), nothing else of it.
fn claim(node: &str, write: &Write<'_>) -> Option<String> {
    if write.subresource != Some("status") {
        return Some("may only update PVC status".to_owned());
    }
    if write.op != Op::Update {
        return Some(format!("unexpected operation {:?}", write.op.as_str()));
    }
    let comparable = |object: Option<&Value>| {
        let mut object = object.cloned().unwrap_or(Value::Null);
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("resourceVersion");
            metadata.remove("managedFields");
        }
        if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut) {
            for field in [
                "capacity",
                "conditions",
                "allocatedResources",
                "allocatedResourceStatuses",
            ] {
                status.remove(field);
            }
        }
        object
    };
    (comparable(write.old) != comparable(write.new)).then(|| {
        format!(
            "node {node:?} is not allowed to update fields other than status.quantity and status.conditions"
        )
    })
}

/// Its own Lease (in `kube-node-lease`) or CSINode: named after the node.
fn named_after_node(node: &str, write: &Write<'_>, lease: bool) -> Option<String> {
    if lease && write.namespace != Some("kube-node-lease") {
        return Some(
            "can only access leases in the \"kube-node-lease\" system namespace".to_owned(),
        );
    }
    let name = match write.op {
        Op::Create => text(write.new, "/metadata/name"),
        _ => write.name,
    };
    (name != node).then(|| {
        if lease {
            "can only access node lease with the same name as the requesting node".to_owned()
        } else {
            "can only access CSINode with the same name as the requesting node".to_owned()
        }
    })
}

/// A node's own certificate requests name it.
fn csr(node: &str, write: &Write<'_>) -> Option<String> {
    if write.op != Op::Create {
        return None;
    }
    let signer = text(write.new, "/spec/signerName");
    if !matches!(
        signer,
        "kubernetes.io/kubelet-serving" | "kubernetes.io/kube-apiserver-client-kubelet"
    ) {
        return None;
    }
    let request = text(write.new, "/spec/request");
    let pem = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, request)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let subject = match pem.map(|pem| gantry_pki::identity::request_subject(&pem)) {
        Some(Ok(subject)) => subject,
        Some(Err(e)) => return Some(format!("unable to parse csr: {e}")),
        None => return Some("unable to parse csr: not a PEM certificate request".to_owned()),
    };
    (subject.common_name != format!("system:node:{node}"))
        .then(|| format!("can only create a node CSR with CN=system:node:{node}"))
}

#[cfg(test)]
#[path = "node_restriction_tests.rs"]
mod tests;
