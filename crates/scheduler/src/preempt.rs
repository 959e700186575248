//! Carrying out a preemption through the API, as upstream: each victim gets the
//! `DisruptionTarget` condition (so its controller and users can tell why it went), a
//! `Preempted` event, and a graceful delete conditioned on its UID; pods of lower priority
//! nominated to the same node lose that nomination. Also the watch of PodDisruptionBudgets
//! preemption weighs.

use crate::Shared;
use crate::info::PodInfo;
use crate::plugins::default_preemption::{Budget, Candidate};
use crate::watch::{self, Seen};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use std::sync::Arc;

/// Removes the victims of `candidate` for `preemptor`.
pub(crate) async fn execute(shared: Arc<Shared>, preemptor: PodInfo, candidate: Candidate) {
    let (profile, recorder) = shared.profile_of(&preemptor);
    let message = format!(
        "{}: preempting to accommodate a higher priority pod",
        profile.name
    );
    for victim in &candidate.victims {
        let api: Api<Pod> = Api::namespaced(shared.client.clone(), &victim.namespace);
        let condition = json!({"status": {"conditions": [{
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "PreemptionByScheduler",
            "message": message,
            "lastTransitionTime": crate::now(),
        }]}});
        // Conditions merge by type on the server; a failure here must not stop the delete.
        if let Err(e) = api
            .patch_status(
                &victim.name,
                &PatchParams::default(),
                &Patch::Strategic(&condition),
            )
            .await
        {
            tracing::debug!(pod = %victim.name, error = %e, "could not mark the victim");
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(victim.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&victim.name, &params).await {
            Ok(_) => {
                let mut pod = Pod::default();
                pod.metadata.name = Some(victim.name.clone());
                pod.metadata.namespace = Some(victim.namespace.clone());
                pod.metadata.uid = Some(victim.uid.clone());
                recorder.normal(
                    &pod,
                    None,
                    "Preempted",
                    format!(
                        "Preempted by pod {} on node {}",
                        preemptor.uid, candidate.node
                    ),
                );
            }
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => tracing::warn!(pod = %victim.name, error = %e, "could not preempt"),
        }
    }
    // Lower-priority pods waiting for this node would now wait in vain.
    let displaced: Vec<(String, String)> = {
        let cache = shared.cache();
        cache
            .nominated_on(&candidate.node)
            .iter()
            .filter(|(uid, entry)| *uid != preemptor.uid && entry.priority < preemptor.priority)
            .map(|(_, entry)| (entry.namespace.clone(), entry.name.clone()))
            .collect()
    };
    for (namespace, name) in displaced {
        let api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
        let patch = json!({"status": {"nominatedNodeName": null}});
        if let Err(e) = api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::debug!(pod = %name, error = %e, "could not clear a nomination");
        }
    }
}

/// Keeps the PodDisruptionBudgets preemption weighs.
pub(crate) async fn watch_budgets(shared: Arc<Shared>) {
    let key = |b: &PodDisruptionBudget| {
        format!(
            "{}/{}",
            b.metadata.namespace.as_deref().unwrap_or_default(),
            b.metadata.name.as_deref().unwrap_or_default()
        )
    };
    watch::each::<PodDisruptionBudget>(shared.client.clone(), "disruption budgets", |seen| {
        match seen {
            Seen::Present(b) => {
                let budget = Budget {
                    namespace: b.metadata.namespace.clone().unwrap_or_default(),
                    selector: b.spec.as_ref().and_then(|s| s.selector.clone()),
                    disruptions_allowed: b.status.as_ref().map_or(0, |s| s.disruptions_allowed),
                };
                shared.budgets().insert(key(&b), budget);
            }
            Seen::Gone(b) => {
                shared.budgets().remove(&key(&b));
            }
        }
    })
    .await;
}
