//! Who is asking, and may they: upstream's authentication and authorization filters, run on
//! every request before anything else reads it.
//!
//! Authentication, in upstream's order: a client certificate the connection's TLS handshake
//! verified against the cluster authority (CN = user, O = groups), then a bearer token
//! (bootstrap tokens, from their `kube-system` Secrets), else `system:anonymous`. A bearer token
//! that matches nothing is a 401, as upstream answers a bad credential.
//!
//! An API server started without TLS (the in-process harnesses and benchmarks; the `gantry`
//! binary never runs one) treats every request as `system:unsecured` in `system:masters`, as
//! upstream once treated its insecure port.
//!
//! Impersonation headers are honoured next ([`impersonate`]), then [`authorize`] decides:
//! `system:masters` may do anything, nodes what the Node authorizer ([`node`]) allows, everyone
//! (nodes too) what RBAC ([`rbac`]) allows.

pub mod attributes;
pub mod authenticate;
pub mod authorize;
pub mod bootstrap_token;
pub mod impersonate;
pub mod node;
pub mod rbac;
pub mod reviews;
pub mod service_account;
pub mod user;

pub use attributes::Attributes;
pub use user::User;
