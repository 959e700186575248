//! Nodes' own authorization: upstream's Node authorizer ([`authorizer`]) over the graph of what
//! each node's pods use ([`graph`]). NodeRestriction, its admission half, is in
//! `crate::admission::node_restriction`.

pub mod authorizer;
pub mod graph;

pub use authorizer::{Decision, NodeAuthorizer, node_name};
pub use graph::NodeGraph;
