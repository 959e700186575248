//! A Deployment's conditions, as upstream sets them: `Available` (enough pods available) and
//! `Progressing` (`NewReplicaSetCreated`, `FoundNewReplicaSet`, `ReplicaSetUpdated`,
//! `NewReplicaSetAvailable`, `ProgressDeadlineExceeded`, `DeploymentPaused`,
//! `DeploymentResumed`), plus the `ReplicaFailure` its sets report.

use k8s_openapi::api::apps::v1::DeploymentCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A condition stamped now.
pub fn condition(type_: &str, status: &str, reason: &str, message: String) -> DeploymentCondition {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

/// Sets a condition as upstream's `SetDeploymentCondition`: the same status and reason leave
/// the existing one as it is; the same status keeps its transition time.
pub fn set(conditions: &mut Vec<DeploymentCondition>, mut new: DeploymentCondition) {
    if let Some(existing) = conditions.iter().find(|c| c.type_ == new.type_) {
        if existing.status == new.status && existing.reason == new.reason {
            return;
        }
        if existing.status == new.status {
            new.last_transition_time = existing.last_transition_time.clone();
        }
    }
    conditions.retain(|c| c.type_ != new.type_);
    conditions.push(new);
}

/// Removes a condition.
pub fn remove(conditions: &mut Vec<DeploymentCondition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// The condition of this type, if any.
pub fn get<'a>(
    conditions: &'a [DeploymentCondition],
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Upstream's `Available` condition for `available` of `replicas` pods with `max_unavailable`.
pub fn available(replicas: i32, max_unavailable: i32, available: i32) -> DeploymentCondition {
    if available >= replicas - max_unavailable {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".to_owned(),
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".to_owned(),
        )
    }
}

/// Whether the rollout ran out of time: `Progressing` not updated for
/// `progressDeadlineSeconds` (upstream's `DeploymentTimedOut`). Returns how long is left
/// otherwise.
pub fn time_left(
    conditions: &[DeploymentCondition],
    deadline_seconds: i32,
    now: k8s_openapi::jiff::Timestamp,
) -> Option<i64> {
    let progressing = get(conditions, "Progressing")?;
    if progressing.reason.as_deref() == Some("ProgressDeadlineExceeded") {
        return Some(0);
    }
    let since = progressing.last_update_time.as_ref()?.0.as_second();
    Some(since + i64::from(deadline_seconds) - now.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_condition_changes_nothing_and_a_new_reason_keeps_the_transition() {
        let mut conditions = Vec::new();
        let mut first = condition("Progressing", "True", "NewReplicaSetCreated", "a".into());
        first.last_transition_time = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
        set(&mut conditions, first.clone());
        set(
            &mut conditions,
            condition("Progressing", "True", "NewReplicaSetCreated", "b".into()),
        );
        assert_eq!(conditions, [first.clone()]);
        set(
            &mut conditions,
            condition("Progressing", "True", "ReplicaSetUpdated", "c".into()),
        );
        assert_eq!(conditions[0].reason.as_deref(), Some("ReplicaSetUpdated"));
        assert_eq!(
            conditions[0].last_transition_time,
            first.last_transition_time
        );
        set(
            &mut conditions,
            condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                "d".into(),
            ),
        );
        assert_ne!(
            conditions[0].last_transition_time,
            first.last_transition_time
        );
        assert_eq!(
            time_left(&conditions, 600, k8s_openapi::jiff::Timestamp::now()),
            Some(0)
        );
        remove(&mut conditions, "Progressing");
        assert!(conditions.is_empty());
    }

    #[test]
    fn available_means_at_most_max_unavailable_missing() {
        assert_eq!(available(3, 1, 2).status, "True");
        assert_eq!(
            available(3, 0, 2).reason.as_deref(),
            Some("MinimumReplicasUnavailable")
        );
    }
}
