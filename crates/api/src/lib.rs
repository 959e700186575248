//! Gantry's API machinery, shared by every component (layer 0: depends on no other Gantry
//! crate).
//!
//! - [`catalogue`]: every built-in resource Gantry serves, with upstream 1.33's group, version,
//!   kind, scope, verbs, short names, categories and subresources.
//! - [`selector`]: label and field selectors, parsed and matched as upstream does.
//! - [`strategic`]: strategic merge patch.
//! - [`managed`]: field ownership (`managedFields`) and server-side apply.
//! - [`protobuf`]: Kubernetes protobuf request bodies read into JSON.
//! - [`time`]: RFC 3339 timestamps.

pub mod catalogue;
pub mod cidr;
pub mod custom;
pub mod managed;
pub mod protobuf;
pub mod quantity;
pub mod resources;
pub mod selector;
pub mod storage;
pub mod strategic;
pub mod time;
pub mod version;
