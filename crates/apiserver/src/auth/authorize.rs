//! Authorization, as upstream's default chain decides it: members of `system:masters` may do
//! anything (upstream's privileged-group authorizer, ahead of every other), everyone else what
//! the RBAC roles bound to them allow.

use super::attributes::Attributes;
use super::rbac::Policy;
use super::user::{MASTERS, User};
use crate::status::ApiError;

/// Decides requests.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    policy: Policy,
}

impl Authorizer {
    /// An authorizer over `policy`.
    pub fn new(policy: Policy) -> Self {
        Self { policy }
    }

    /// The RBAC policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether `user` may do what `attributes` say, and what the authorizer had to say.
    pub fn decision(&self, user: &User, attributes: &Attributes) -> (bool, String) {
        if user.in_group(MASTERS) {
            return (true, String::new());
        }
        let verdict = self.policy.decide(user, attributes);
        (verdict.allowed, verdict.reason)
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
