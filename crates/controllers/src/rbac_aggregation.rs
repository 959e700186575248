//! The cluster role aggregation controller (upstream's `clusterrole-aggregation`): a ClusterRole
//! with an `aggregationRule` gets, as its rules, the rules of every other ClusterRole its
//! selectors match — selector by selector, roles in name order, exact duplicates dropped — so
//! that `admin`, `edit` and `view` grow with the roles labelled `aggregate-to-<x>`.

use crate::Context;
use crate::informer::Informer;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use gantry_api::selector::LabelSelector;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The controller.
pub struct AggregationController {
    client: kube::Client,
    roles: Arc<Informer<ClusterRole>>,
    queue: Arc<WorkQueue>,
}

impl std::fmt::Debug for AggregationController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregationController")
            .finish_non_exhaustive()
    }
}

/// The rules `role` aggregates from `all`.
pub fn aggregated(role: &ClusterRole, all: &[Arc<ClusterRole>]) -> Vec<PolicyRule> {
    let mut rules: Vec<PolicyRule> = Vec::new();
    let selectors = role
        .aggregation_rule
        .as_ref()
        .and_then(|a| a.cluster_role_selectors.as_ref());
    for selector in selectors.into_iter().flatten() {
        let selector = serde_json::to_value(selector)
            .ok()
            .and_then(|v| LabelSelector::from_label_selector_json(&v).ok())
            .unwrap_or_else(LabelSelector::nothing);
        let mut matching: Vec<&ClusterRole> = all
            .iter()
            .map(AsRef::as_ref)
            .filter(|other| other.metadata.name != role.metadata.name)
            .filter(|other| selector.matches(&other.metadata.labels.clone().unwrap_or_default()))
            .collect();
        matching.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for other in matching {
            for rule in other.rules.iter().flatten() {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
        }
    }
    rules
}

impl AggregationController {
    /// The controller over `roles` (an informer the caller runs).
    pub fn new(ctx: &Context, roles: Arc<Informer<ClusterRole>>) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            let all = Arc::clone(&roles);
            // Any role's change may change what any aggregated role gathers.
            roles.on(move |_, _| {
                for role in all.list() {
                    if role.aggregation_rule.is_some() {
                        queue.add(role.metadata.name.clone().unwrap_or_default());
                    }
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            roles,
            queue,
        })
    }
}

impl Reconcile for AggregationController {
    fn name(&self) -> &'static str {
        "clusterrole-aggregation-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(role) = self.roles.get(&key) else {
            return Ok(None);
        };
        if role.aggregation_rule.is_none() {
            return Ok(None);
        }
        let rules = aggregated(&role, &self.roles.list());
        if role.rules.clone().unwrap_or_default() == rules {
            return Ok(None);
        }
        let api: Api<ClusterRole> = Api::all(self.client.clone());
        api.patch(
            &key,
            &PatchParams::default(),
            &Patch::Merge(&json!({"rules": rules})),
        )
        .await?;
        tracing::info!(role = %key, rules = rules.len(), "aggregated cluster role rules");
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(
        name: &str,
        labels: &[(&str, &str)],
        aggregates: Option<&str>,
        verbs: &[&str],
    ) -> Arc<ClusterRole> {
        let mut value = json!({
            "metadata": {"name": name, "labels": labels.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>()},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": verbs}],
        });
        if let Some(label) = aggregates {
            value["aggregationRule"] =
                json!({"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]});
            value["rules"] = json!([]);
        }
        Arc::new(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn matching_roles_are_gathered_in_name_order_without_duplicates() {
        let view = role(
            "view",
            &[],
            Some("rbac.authorization.k8s.io/aggregate-to-view"),
            &[],
        );
        let all = vec![
            Arc::clone(&view),
            role(
                "z-extra",
                &[("rbac.authorization.k8s.io/aggregate-to-view", "true")],
                None,
                &["watch"],
            ),
            role(
                "a-base",
                &[("rbac.authorization.k8s.io/aggregate-to-view", "true")],
                None,
                &["get"],
            ),
            role(
                "dup",
                &[("rbac.authorization.k8s.io/aggregate-to-view", "true")],
                None,
                &["get"],
            ),
            role("other", &[], None, &["delete"]),
        ];
        let rules = aggregated(&view, &all);
        let verbs: Vec<&str> = rules.iter().map(|r| r.verbs[0].as_str()).collect();
        assert_eq!(verbs, ["get", "watch"]);
    }
}
