//! The authenticated user of a request, as upstream's `user.Info`, and the task-local that
//! carries it through the request (the CertificateSigningRequest strategy records it).

use std::collections::BTreeMap;
use std::future::Future;

/// Every authenticated user is in this group.
pub const AUTHENTICATED: &str = "system:authenticated";
/// Anonymous requests are in this group.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// Members may do anything (upstream's `cluster-admin` binding).
pub const MASTERS: &str = "system:masters";
/// Users of bootstrap tokens.
pub const BOOTSTRAPPERS: &str = "system:bootstrappers";

/// A user: name, uid, groups and extra attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// The name (`system:admin`, `system:node:n1`, `system:bootstrap:abcdef`).
    pub name: String,
    /// The uid, when the authenticator knows one.
    pub uid: String,
    /// The groups, `system:authenticated` or `system:unauthenticated` included.
    pub groups: Vec<String>,
    /// Extra attributes.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    /// An authenticated user: `groups` plus `system:authenticated`.
    pub fn authenticated(name: &str, groups: Vec<String>) -> Self {
        let mut groups = groups;
        if !groups.iter().any(|g| g == AUTHENTICATED) {
            groups.push(AUTHENTICATED.to_owned());
        }
        Self {
            name: name.to_owned(),
            groups,
            ..Self::default()
        }
    }

    /// `system:anonymous`.
    pub fn anonymous() -> Self {
        Self {
            name: "system:anonymous".to_owned(),
            groups: vec![UNAUTHENTICATED.to_owned()],
            ..Self::default()
        }
    }

    /// The user of an API server without TLS.
    pub fn unsecured() -> Self {
        Self::authenticated("system:unsecured", vec![MASTERS.to_owned()])
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

tokio::task_local! {
    static CURRENT: User;
}

/// Runs one request's work as `user`.
pub async fn scoped<T>(user: User, work: impl Future<Output = T>) -> T {
    CURRENT.scope(user, work).await
}

/// The current request's user (none outside a request: the API server's own writes).
pub fn current() -> Option<User> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Something of the current request's user, without copying it.
pub fn with_current<R>(f: impl FnOnce(&User) -> R) -> Option<R> {
    CURRENT.try_with(f).ok()
}
