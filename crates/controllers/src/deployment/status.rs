//! A Deployment's status, as upstream computes it: counts summed over its sets (`updated` from
//! the new one), `Available` from `maxUnavailable`, and — after a rollout step — `Progressing`:
//! `NewReplicaSetAvailable` once complete, `ReplicaSetUpdated` while pods move, and
//! `ProgressDeadlineExceeded` when nothing moved for `progressDeadlineSeconds`.

use super::conditions::{self, condition};
use super::sets::Sync;
use super::{replicas, surge_and_unavailable};
use k8s_openapi::api::apps::v1::DeploymentStatus;
use std::time::Duration;

/// The counts (and observed generation, collision count, current conditions).
pub(super) fn compute(sync: &Sync<'_>) -> DeploymentStatus {
    let sum = |f: &dyn Fn(&k8s_openapi::api::apps::v1::ReplicaSetStatus) -> Option<i32>| -> i32 {
        sync.sets
            .iter()
            .filter_map(|s| s.status.as_ref())
            .filter_map(f)
            .sum()
    };
    let current = sync.deployment.status.clone().unwrap_or_default();
    let available = sum(&|s| s.available_replicas);
    let updated = sync
        .new
        .and_then(|i| sync.sets[i].status.as_ref())
        .map_or(0, |s| s.replicas);
    DeploymentStatus {
        replicas: Some(sum(&|s| Some(s.replicas))),
        updated_replicas: Some(updated),
        ready_replicas: Some(sum(&|s| s.ready_replicas)),
        available_replicas: Some(available),
        unavailable_replicas: Some((replicas(&sync.deployment) - available).max(0)),
        observed_generation: sync.deployment.metadata.generation,
        collision_count: current.collision_count,
        conditions: current.conditions,
        terminating_replicas: None,
    }
}

/// Whether pods moved since `before` (upstream's `DeploymentProgressing`).
fn moved(before: &DeploymentStatus, after: &DeploymentStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old = |s: &DeploymentStatus| n(s.replicas) - n(s.updated_replicas);
    n(after.updated_replicas) > n(before.updated_replicas)
        || n(after.ready_replicas) > n(before.ready_replicas)
        || n(after.available_replicas) > n(before.available_replicas)
        || old(after) < old(before)
}

/// The status to write, and when to look again (before the progress deadline passes).
pub(super) fn next(sync: &Sync<'_>, rollout: bool) -> (DeploymentStatus, Option<Duration>) {
    let deployment = &sync.deployment;
    let before = sync
        .controller
        .ctx
        .deployments
        .get(&crate::informer::key_of(deployment))
        .and_then(|d| d.status.clone())
        .unwrap_or_default();
    let mut status = compute(sync);
    let wanted = replicas(deployment);
    let (_, unavailable) = surge_and_unavailable(deployment);
    let mut conds = status.conditions.take().unwrap_or_default();
    conditions::set(
        &mut conds,
        conditions::available(wanted, unavailable, status.available_replicas.unwrap_or(0)),
    );
    let deadline = sync.deadline();
    let paused = deployment
        .spec
        .as_ref()
        .and_then(|s| s.paused)
        .unwrap_or(false);
    let reason = conditions::get(&conds, "Progressing").and_then(|c| c.reason.clone());
    if deadline.is_some() {
        if paused && reason.as_deref() != Some("DeploymentPaused") {
            conditions::set(
                &mut conds,
                condition(
                    "Progressing",
                    "Unknown",
                    "DeploymentPaused",
                    "Deployment is paused".into(),
                ),
            );
        } else if !paused && reason.as_deref() == Some("DeploymentPaused") {
            conditions::set(
                &mut conds,
                condition(
                    "Progressing",
                    "Unknown",
                    "DeploymentResumed",
                    "Deployment is resumed".into(),
                ),
            );
        }
    }
    let mut again = None;
    if rollout {
        let name = sync
            .new
            .and_then(|i| sync.sets[i].metadata.name.clone())
            .unwrap_or_default();
        match deadline {
            None => conditions::remove(&mut conds, "Progressing"),
            Some(seconds) => {
                let now = k8s_openapi::jiff::Timestamp::now();
                if sync.complete() {
                    conditions::set(
                        &mut conds,
                        condition(
                            "Progressing",
                            "True",
                            "NewReplicaSetAvailable",
                            format!("ReplicaSet \"{name}\" has successfully progressed."),
                        ),
                    );
                } else if moved(&before, &status) {
                    // Progress renews the update time (what the deadline counts from) even
                    // with the same reason; the transition time stays while it stays True.
                    let mut renewed = condition(
                        "Progressing",
                        "True",
                        "ReplicaSetUpdated",
                        format!("ReplicaSet \"{name}\" is progressing."),
                    );
                    if let Some(current) =
                        conditions::get(&conds, "Progressing").filter(|c| c.status == "True")
                    {
                        renewed.last_transition_time = current.last_transition_time.clone();
                    }
                    conditions::remove(&mut conds, "Progressing");
                    conds.push(renewed);
                    again = Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0) + 1));
                } else {
                    match conditions::time_left(&conds, seconds, now) {
                        Some(left) if left <= 0 => conditions::set(
                            &mut conds,
                            condition(
                                "Progressing",
                                "False",
                                "ProgressDeadlineExceeded",
                                format!("ReplicaSet \"{name}\" has timed out progressing."),
                            ),
                        ),
                        Some(left) => {
                            again = Some(Duration::from_secs(u64::try_from(left).unwrap_or(0) + 1))
                        }
                        None => {}
                    }
                }
            }
        }
        // A set failing to create or delete pods says so on its Deployment too.
        let failure = sync.sets.iter().find_map(|s| {
            s.status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
                .cloned()
        });
        match failure {
            Some(f) => conditions::set(
                &mut conds,
                condition(
                    "ReplicaFailure",
                    "True",
                    f.reason.as_deref().unwrap_or("FailedCreate"),
                    f.message.unwrap_or_default(),
                ),
            ),
            None => conditions::remove(&mut conds, "ReplicaFailure"),
        }
    }
    status.conditions = Some(conds);
    (status, again)
}

/// The status as a merge patch: fields upstream omits when zero become `null` (removed).
pub(super) fn as_patch(status: &DeploymentStatus) -> serde_json::Value {
    let field = |v: Option<i32>| match v {
        Some(n) if n != 0 => serde_json::json!(n),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "replicas": field(status.replicas),
        "updatedReplicas": field(status.updated_replicas),
        "readyReplicas": field(status.ready_replicas),
        "availableReplicas": field(status.available_replicas),
        "unavailableReplicas": field(status.unavailable_replicas),
        "observedGeneration": status.observed_generation,
        "collisionCount": status.collision_count,
        "conditions": status.conditions,
    })
}
