//! Upstream's controller-ref manager: which children an owner keeps. Its own children that
//! still match its selector stay (all of them while it is being deleted); its children that
//! stopped matching are released; matching orphans are adopted — after a fresh read of the
//! owner shows it is still the same object and not leaving. Adoption and release patch
//! `ownerReferences` (strategic merge, by owner UID) with the child's UID as precondition.

use crate::informer::Kind;
use crate::pods;
use gantry_api::selector::LabelSelector;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::sync::Arc;

/// Children of kind `C` that `owner` keeps, adopting and releasing as it goes.
pub async fn claim<O, C>(
    client: &kube::Client,
    owner: &O,
    selector: &LabelSelector,
    candidates: Vec<Arc<C>>,
) -> anyhow::Result<Vec<Arc<C>>>
where
    O: Kind + kube::Resource<Scope = NamespaceResourceScope>,
    C: Kind + kube::Resource<Scope = NamespaceResourceScope>,
{
    let uid = owner.meta().uid.as_deref().unwrap_or_default();
    let deleting = owner.meta().deletion_timestamp.is_some();
    let mut kept = Vec::new();
    let mut may_adopt: Option<bool> = None;
    for child in candidates {
        let labels = child.meta().labels.clone().unwrap_or_default();
        let matches = selector.matches(&labels);
        match pods::controller_of(child.meta()) {
            Some(reference) if reference.uid != uid => {}
            Some(_) if matches || deleting => kept.push(child),
            Some(_) => {
                patch_owner(client, &*child, json!([{"$patch": "delete", "uid": uid}])).await;
            }
            None if !matches || deleting || child.meta().deletion_timestamp.is_some() => {}
            None => {
                if may_adopt.is_none() {
                    may_adopt = Some(still_there(client, owner).await?);
                }
                if may_adopt == Some(true)
                    && patch_owner(client, &*child, json!([pods::controller_ref(owner)])).await
                {
                    kept.push(child);
                }
            }
        }
    }
    Ok(kept)
}

/// Whether the owner, read fresh from the API server, is the same object and not leaving
/// (upstream's `RecheckDeletionTimestamp`).
async fn still_there<O>(client: &kube::Client, owner: &O) -> anyhow::Result<bool>
where
    O: Kind + kube::Resource<Scope = NamespaceResourceScope>,
{
    let meta = owner.meta();
    let api: Api<O> = Api::namespaced(
        client.clone(),
        meta.namespace.as_deref().unwrap_or_default(),
    );
    let fresh = api
        .get_opt(meta.name.as_deref().unwrap_or_default())
        .await?;
    Ok(fresh.is_some_and(|f| f.meta().uid == meta.uid && f.meta().deletion_timestamp.is_none()))
}

/// Patches the child's owner references; whether it worked.
async fn patch_owner<C>(client: &kube::Client, child: &C, references: serde_json::Value) -> bool
where
    C: Kind + kube::Resource<Scope = NamespaceResourceScope>,
{
    let meta = child.meta();
    let api: Api<C> = Api::namespaced(
        client.clone(),
        meta.namespace.as_deref().unwrap_or_default(),
    );
    let name = meta.name.as_deref().unwrap_or_default();
    let patch = json!({"metadata": {"ownerReferences": references, "uid": meta.uid}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(kind = %C::kind(&()), name, error = %e, "could not adopt or release");
            false
        }
    }
}
