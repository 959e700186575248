//! ControllerRevisions, the template history of DaemonSets and StatefulSets: one object per
//! template (`<owner>-<hash>`), numbered, owned by its controller, holding the template as the
//! patch that restores it (`kubectl rollout history` and `undo` read them).

use crate::informer::Kind;
use crate::pods;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;

/// Makes sure the revision `<owner>-<hash>` of `template` exists (numbered after the owner's
/// others), labelled with the template's labels and the hash.
pub async fn ensure<K>(
    client: &kube::Client,
    owner: &K,
    hash: &str,
    template: &PodTemplateSpec,
) -> anyhow::Result<()>
where
    K: Kind + kube::Resource<Scope = NamespaceResourceScope>,
{
    let meta = owner.meta();
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    let name = format!("{}-{hash}", meta.name.as_deref().unwrap_or_default());
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    if api.get_opt(&name).await?.is_some() {
        return Ok(());
    }
    let uid = meta.uid.clone().unwrap_or_default();
    let next = api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|r| pods::controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
        .map(|r| r.revision)
        .max()
        .unwrap_or(0)
        + 1;
    let mut data = serde_json::to_value(template)?;
    data["$patch"] = json!("replace");
    let mut labels: BTreeMap<String, String> = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert("controller-revision-hash".to_owned(), hash.to_owned());
    let revision: ControllerRevision = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
            "ownerReferences": [pods::controller_ref(owner)]},
        "data": {"spec": {"template": data}},
        "revision": next,
    }))?;
    match api.create(&PostParams::default(), &revision).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The template a revision holds, if the revision exists.
pub async fn template_of(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Option<PodTemplateSpec>> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    let Some(revision) = api.get_opt(name).await? else {
        return Ok(None);
    };
    let Some(data) = revision.data else {
        return Ok(None);
    };
    let mut template = data.0["spec"]["template"].clone();
    if let Some(map) = template.as_object_mut() {
        map.remove("$patch");
    }
    Ok(serde_json::from_value(template).ok())
}
