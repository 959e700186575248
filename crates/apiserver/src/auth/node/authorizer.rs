//! Upstream's Node authorizer: a kubelet (`system:node:<name>` in `system:nodes`) may read only
//! the Secrets, ConfigMaps, claims and volumes its own pods use, ask for tokens only of its pods'
//! ServiceAccounts, and touch only its own Lease and CSINode. Everything else it may do is the
//! `system:node` role's rules. A refusal here is no opinion, not a denial: RBAC still decides,
//! and the reason given here ends upstream's 403 message.

use super::graph::{NodeGraph, Reached};
use crate::auth::attributes::{Attributes, selector_equals};
use crate::auth::rbac::{bootstrap, rules};
use crate::auth::user::User;
use k8s_openapi::api::rbac::v1::PolicyRule;
use std::sync::OnceLock;

/// The group every node is in.
pub const NODES_GROUP: &str = "system:nodes";
/// Node user names start with this.
pub const NODE_PREFIX: &str = "system:node:";
/// Where node Leases live.
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// What the authorizer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Left to RBAC, with why this authorizer did not allow it (maybe nothing).
    NoOpinion(String),
}

/// The node a user is, if it is one: `Some("")` for a node user without a name.
pub fn node_name(user: &User) -> Option<&str> {
    if !user.in_group(NODES_GROUP) {
        return None;
    }
    user.name.strip_prefix(NODE_PREFIX)
}

/// The `system:node` role's rules, which nodes hold for everything not partitioned by node.
fn node_rules() -> &'static [PolicyRule] {
    static RULES: OnceLock<Vec<PolicyRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        bootstrap::cluster_roles()
            .find(|role| role.name == "system:node")
            .and_then(|role| {
                let object = role.to_json(None);
                serde_json::from_value(object["rules"].clone()).ok()
            })
            .unwrap_or_default()
    })
}

/// Decides node requests.
#[derive(Debug, Clone, Default)]
pub struct NodeAuthorizer {
    graph: NodeGraph,
}

fn no(reason: &str) -> Decision {
    Decision::NoOpinion(reason.to_owned())
}

fn unrelated(node: &str) -> Decision {
    Decision::NoOpinion(format!(
        "no relationship found between node '{node}' and this object"
    ))
}

impl NodeAuthorizer {
    /// An authorizer over `graph`.
    pub fn new(graph: NodeGraph) -> Self {
        Self { graph }
    }

    /// The graph it decides by.
    pub fn graph(&self) -> &NodeGraph {
        &self.graph
    }

    /// The decision for `user`, or `None` when the user is not a node.
    pub fn decide(&self, user: &User, attributes: &Attributes) -> Option<Decision> {
        let node = node_name(user)?;
        if node.is_empty() {
            return Some(Decision::NoOpinion(format!(
                "unknown node for user {:?}",
                user.name
            )));
        }
        if let Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            namespace,
            name,
            field_selector,
        } = attributes
        {
            let request = Request {
                node,
                verb,
                subresource: subresource.as_deref(),
                namespace: namespace.as_deref().unwrap_or(""),
                name: name.as_deref().unwrap_or(""),
                field_selector: field_selector.as_deref().unwrap_or(""),
            };
            let partitioned = match (group.as_str(), resource.as_str()) {
                ("", "secrets") => Some(self.read_namespaced(&request, Reached::Secret)),
                ("", "configmaps") => Some(self.read_namespaced(&request, Reached::ConfigMap)),
                ("", "persistentvolumeclaims") if request.subresource == Some("status") => {
                    Some(self.claim_status(&request))
                }
                ("", "persistentvolumeclaims") => Some(self.get(&request, Reached::Claim)),
                ("", "persistentvolumes") => Some(self.get(&request, Reached::Volume)),
                ("", "serviceaccounts") => Some(self.create_token(&request)),
                ("", "pods") => Some(self.pod(&request)),
                ("", "nodes") => Some(own_node(&request)),
                ("coordination.k8s.io", "leases") => Some(lease(&request)),
                ("storage.k8s.io", "csinodes") => Some(csi_node(&request)),
                // Gantry runs no attach/detach controller: no node has an attachment to read.
                ("storage.k8s.io", "volumeattachments") => {
                    Some(get_only(&request).unwrap_or_else(|| unrelated(node)))
                }
                _ => None,
            };
            if let Some(decision) = partitioned {
                return Some(decision);
            }
        }
        if node_rules()
            .iter()
            .any(|rule| rules::allows(rule, attributes))
        {
            return Some(Decision::Allow);
        }
        Some(no(""))
    }

    /// Secrets and ConfigMaps: read one at a time (a list or watch narrowed to one name by a
    /// `metadata.name` field selector counts), and only what the node's pods use.
    fn read_namespaced(&self, request: &Request<'_>, kind: Reached) -> Decision {
        if !matches!(request.verb, "get" | "list" | "watch") {
            return no("can only read resources of this type");
        }
        if request.subresource.is_some() {
            return no("cannot read subresource");
        }
        if request.namespace.is_empty() {
            return no("can only read namespaced object of this type");
        }
        self.related(request, kind)
    }

    /// Claims and volumes: `get` only.
    fn get(&self, request: &Request<'_>, kind: Reached) -> Decision {
        get_only(request).unwrap_or_else(|| self.related(request, kind))
    }

    /// A claim's status: the kubelet records a finished volume expansion there.
    fn claim_status(&self, request: &Request<'_>) -> Decision {
        if !matches!(request.verb, "update" | "patch") {
            return no("can only get/update/patch this type");
        }
        self.related(request, Reached::Claim)
    }

    /// `serviceaccounts/token`: tokens for the ServiceAccounts its pods run as.
    fn create_token(&self, request: &Request<'_>) -> Decision {
        if request.verb != "create" || request.name.is_empty() {
            return no("can only create tokens for individual service accounts");
        }
        if request.subresource != Some("token") {
            return no("can only create token subresource of serviceaccount");
        }
        self.related(request, Reached::ServiceAccount)
    }

    /// Pods: its own, read one by one or listed by `spec.nodeName`; mirror pods created and
    /// deleted, statuses written and evictions asked for (NodeRestriction narrows those to its
    /// own pods).
    fn pod(&self, request: &Request<'_>) -> Decision {
        match (request.subresource, request.verb) {
            (None, "get") => self.related(request, Reached::Pod),
            (None, "list" | "watch") => {
                if selector_equals(request.field_selector, "spec.nodeName") == Some(request.node) {
                    Decision::Allow
                } else if !request.name.is_empty() {
                    self.related(request, Reached::Pod)
                } else {
                    no("can only list/watch pods with spec.nodeName field selector")
                }
            }
            (None, "create" | "delete")
            | (Some("status"), "update" | "patch")
            | (Some("eviction"), "create") => Decision::Allow,
            _ => no(""),
        }
    }

    fn related(&self, request: &Request<'_>, kind: Reached) -> Decision {
        if request.name.is_empty() {
            return no("No Object name found");
        }
        if self
            .graph
            .reaches(request.node, kind, request.namespace, request.name)
        {
            Decision::Allow
        } else {
            unrelated(request.node)
        }
    }
}

/// One resource request's parts.
struct Request<'a> {
    node: &'a str,
    verb: &'a str,
    subresource: Option<&'a str>,
    namespace: &'a str,
    name: &'a str,
    field_selector: &'a str,
}

/// Why a request for a get-only kind is refused before the graph is asked, if it is.
fn get_only(request: &Request<'_>) -> Option<Decision> {
    if request.verb != "get" {
        return Some(no("can only get individual resources of this type"));
    }
    if request.subresource.is_some() {
        return Some(no("cannot get subresource"));
    }
    None
}

/// Nodes: it reads only its own Node; writes go to NodeRestriction, which keeps them to it.
fn own_node(request: &Request<'_>) -> Decision {
    match (request.subresource, request.verb) {
        (None, "create" | "update" | "patch") | (Some("status"), "update" | "patch") => {
            Decision::Allow
        }
        (None, "get" | "list" | "watch") => {
            if request.name == request.node {
                Decision::Allow
            } else if request.name.is_empty() {
                Decision::NoOpinion(format!(
                    "node '{}' cannot read all nodes, only its own Node object",
                    request.node
                ))
            } else {
                Decision::NoOpinion(format!(
                    "node '{}' cannot read '{}', only its own Node object",
                    request.node, request.name
                ))
            }
        }
        _ => no(""),
    }
}

/// Its own Lease in `kube-node-lease`, named after the node.
fn lease(request: &Request<'_>) -> Decision {
    if !matches!(
        request.verb,
        "get" | "create" | "update" | "patch" | "delete"
    ) {
        return no("can only get, create, update, patch, or delete a node lease");
    }
    if request.namespace != LEASE_NAMESPACE {
        return no(&format!(
            "can only access leases in the {LEASE_NAMESPACE:?} system namespace"
        ));
    }
    // A create names its object only in the body; NodeRestriction checks that name.
    if request.verb != "create" && request.name != request.node {
        return no("can only access node lease with the same name as the requesting node");
    }
    Decision::Allow
}

/// Its own CSINode, named after the node.
fn csi_node(request: &Request<'_>) -> Decision {
    if !matches!(
        request.verb,
        "get" | "create" | "update" | "patch" | "delete"
    ) {
        return no("can only get, create, update, patch, or delete a CSINode");
    }
    if request.subresource.is_some() {
        return no("cannot authorize CSINode subresources");
    }
    if request.verb != "create" && request.name != request.node {
        return no("can only access CSINode with the same name as the requesting node");
    }
    Decision::Allow
}

#[cfg(test)]
#[path = "authorizer_tests.rs"]
mod tests;
