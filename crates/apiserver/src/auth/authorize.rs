//! Authorization, as upstream's default chain decides it: members of `system:masters` may do
//! anything (upstream's privileged-group authorizer, ahead of every other), nodes what the Node
//! authorizer allows, and everyone what the RBAC roles bound to them allow. A refusal carries
//! every authorizer's reason, joined as upstream's union authorizer joins them.

use super::attributes::Attributes;
use super::node::{Decision, NodeAuthorizer};
use super::rbac::Policy;
use super::user::{MASTERS, User};
use crate::status::ApiError;

/// Decides requests.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    policy: Policy,
    nodes: Option<NodeAuthorizer>,
}

impl Authorizer {
    /// An authorizer over `policy`, without the Node authorizer (nodes are then users like any
    /// other: what RBAC grants them).
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            nodes: None,
        }
    }

    /// Adds the Node authorizer ahead of RBAC.
    pub fn with_nodes(mut self, nodes: NodeAuthorizer) -> Self {
        self.nodes = Some(nodes);
        self
    }

    /// The RBAC policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The Node authorizer, when there is one.
    pub fn nodes(&self) -> Option<&NodeAuthorizer> {
        self.nodes.as_ref()
    }

    /// Whether `user` may do what `attributes` say, and what the authorizers had to say.
    pub fn decision(&self, user: &User, attributes: &Attributes) -> (bool, String) {
        if user.in_group(MASTERS) {
            return (true, String::new());
        }
        let mut reasons = Vec::new();
        match self.nodes.as_ref().and_then(|n| n.decide(user, attributes)) {
            Some(Decision::Allow) => return (true, String::new()),
            Some(Decision::NoOpinion(reason)) if !reason.is_empty() => reasons.push(reason),
            _ => {}
        }
        let verdict = self.policy.decide(user, attributes);
        if verdict.allowed {
            return (true, String::new());
        }
        if !verdict.reason.is_empty() {
            reasons.push(verdict.reason);
        }
        // Upstream's union authorizer joins its authorizers' reasons line by line.
        (false, reasons.join("\n"))
    }

    /// Allows the request, or says why not with upstream's 403.
    pub fn authorize(&self, user: &User, attributes: &Attributes) -> Result<(), ApiError> {
        match self.decision(user, attributes) {
            (true, _) => Ok(()),
            (false, reason) => Err(forbidden(user, attributes, &reason)),
        }
    }
}

/// The 403 upstream answers when `user` may not do what `attributes` say.
pub fn forbidden(user: &User, attributes: &Attributes, reason: &str) -> ApiError {
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    match attributes {
        Attributes::NonResource { verb, path } => ApiError::forbidden_because(
            "",
            "",
            "",
            &format!("User {:?} cannot {verb} path {path:?}{reason}", user.name),
        ),
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            namespace,
            name,
            ..
        } => {
            let full = match subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let scope = match namespace {
                Some(ns) => format!("in the namespace {ns:?}"),
                None => "at the cluster scope".to_owned(),
            };
            ApiError::forbidden_because(
                group,
                resource,
                name.as_deref().unwrap_or(""),
                &format!(
                    "User {:?} cannot {verb} resource {full:?} in API group {group:?} {scope}{reason}",
                    user.name
                ),
            )
        }
    }
}
