//! Which resources the API server serves, for the controllers that work on every kind (the
//! garbage collector, the namespace controller): kube-rs' discovery, kept to the preferred
//! version of each resource that can be listed, watched and deleted.

use kube::discovery::{ApiResource, Discovery, Scope, verbs};

/// A resource the controllers can list, watch and delete.
#[derive(Debug, Clone)]
pub struct Served {
    /// How kube-rs addresses it.
    pub resource: ApiResource,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
}

/// Every such resource, but events (upstream's garbage collector ignores them too: they are
/// many, short-lived, and own nothing).
pub async fn deletable(client: &kube::Client) -> anyhow::Result<Vec<Served>> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut served = Vec::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            let usable = [verbs::LIST, verbs::WATCH, verbs::DELETE]
                .iter()
                .all(|v| caps.supports_operation(v));
            if !usable || resource.plural == "events" {
                continue;
            }
            served.push(Served {
                namespaced: caps.scope == Scope::Namespaced,
                resource,
            });
        }
    }
    Ok(served)
}

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → the core group, empty).
pub fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(group, _)| group)
}
