//! Upstream's Priority admission plugin, which every cluster runs: a new pod's
//! `priorityClassName` becomes `spec.priority` and `spec.preemptionPolicy` (from the cluster's
//! global default class when the pod names none), so that the scheduler and the kubelet read a
//! number and never look classes up. Also keeps one global default among PriorityClasses.

use crate::registry::{Registry, decode, prefix};
use crate::status::{ApiError, Cause};
use gantry_api::catalogue::{self, Resource};
use gantry_store::RangeRequest;
use serde_json::{Value, json};

/// The classes every cluster has, with their values (upstream's two system-critical classes,
/// above every value users may give, 1,000,000,000).
pub const SYSTEM_CLASSES: [(&str, i64, &str); 2] = [
    (
        "system-node-critical",
        2_000_001_000,
        "For pods a node cannot work without; they are never moved elsewhere.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "For pods the cluster cannot work without; they may be moved to another node.",
    ),
];

/// What a pod gets when neither it nor the cluster names a class.
const DEFAULT_PRIORITY: i64 = 0;
const DEFAULT_PREEMPTION: &str = "PreemptLowerPriority";

fn classes() -> Result<&'static Resource, ApiError> {
    catalogue::find("scheduling.k8s.io", "v1", "priorityclasses")
        .ok_or_else(|| ApiError::internal("the catalogue has no priorityclasses"))
}

impl Registry {
    /// Every PriorityClass marked `globalDefault`.
    async fn default_classes(&self) -> Result<Vec<Value>, ApiError> {
        let resource = classes()?;
        let page = self
            .store()
            .range(RangeRequest::prefix(prefix(resource, None)))
            .await?;
        let mut found = Vec::new();
        for kv in &page.kvs {
            let class = decode(resource, kv)?;
            if class.get("globalDefault").and_then(Value::as_bool) == Some(true) {
                found.push(class);
            }
        }
        Ok(found)
    }

    /// Resolves a new pod's priority from its class, as upstream's admission does.
    pub(crate) async fn admit_pod_priority(&self, pod: &mut Value) -> Result<(), ApiError> {
        let name = crate::meta::meta_str(pod, "name")
            .unwrap_or_default()
            .to_owned();
        let forbidden = |detail: String| ApiError::forbidden("", "pods", &name, &detail);
        let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
        let named = spec
            .get("priorityClassName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let class = match &named {
            Some(class_name) => match self.get(classes()?, None, class_name).await {
                Ok(class) => Some(class),
                Err(e) if e.code == 404 => {
                    return Err(forbidden(format!(
                        "no PriorityClass with name {class_name} was found"
                    )));
                }
                Err(e) => return Err(e),
            },
            // Several defaults can only come from a race; upstream then takes the lowest.
            None => self.default_classes().await?.into_iter().min_by_key(|c| {
                c.get("value")
                    .and_then(Value::as_i64)
                    .unwrap_or(DEFAULT_PRIORITY)
            }),
        };
        let priority = class
            .as_ref()
            .and_then(|c| c.get("value"))
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_PRIORITY);
        if let Some(given) = spec.get("priority").and_then(Value::as_i64)
            && given != priority
        {
            return Err(forbidden(format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"
            )));
        }
        let class_policy = class
            .as_ref()
            .and_then(|c| c.get("preemptionPolicy"))
            .and_then(Value::as_str);
        let pod_policy = spec.get("preemptionPolicy").and_then(Value::as_str);
        let policy = match (pod_policy, class_policy) {
            (Some(given), Some(computed)) if given != computed => {
                return Err(forbidden(format!(
                    "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name"
                )));
            }
            (_, Some(computed)) => computed.to_owned(),
            (Some(given), None) => given.to_owned(),
            (None, None) => DEFAULT_PREEMPTION.to_owned(),
        };
        if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
            if let Some(class) = &class
                && let Some(class_name) = crate::meta::meta_str(class, "name")
            {
                spec.insert("priorityClassName".into(), json!(class_name));
            }
            spec.insert("priority".into(), json!(priority));
            spec.insert("preemptionPolicy".into(), json!(policy));
        }
        Ok(())
    }

    /// Refuses reserved names, values above what users may give, and a second global
    /// default PriorityClass.
    pub(crate) async fn admit_priority_class(
        &self,
        class: &Value,
        replacing: Option<&str>,
    ) -> Result<(), ApiError> {
        let name = crate::meta::meta_str(class, "name").unwrap_or_default();
        if let Some(cause) = reserved(name, class.get("value").and_then(Value::as_i64)) {
            return Err(ApiError::invalid(
                "scheduling.k8s.io",
                "PriorityClass",
                name,
                vec![cause],
            ));
        }
        if class.get("globalDefault").and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        let other = self
            .default_classes()
            .await?
            .into_iter()
            .filter_map(|c| crate::meta::meta_str(&c, "name").map(str::to_owned))
            .find(|n| Some(n.as_str()) != replacing && n != name);
        match other {
            Some(other) => Err(ApiError::forbidden(
                "scheduling.k8s.io",
                "priorityclasses",
                name,
                &format!(
                    "PriorityClass {other} is already marked as default. Only one default can exist"
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The highest value a user-defined class may have.
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;

/// Why a class's name or value is not the user's to choose, as upstream's validation says it.
fn reserved(name: &str, value: Option<i64>) -> Option<Cause> {
    if name.starts_with("system-") {
        let detail = match SYSTEM_CLASSES.iter().find(|(n, _, _)| *n == name) {
            None => format!("{name} is not a known system priority class"),
            Some((_, known, _)) if value != Some(*known) => {
                format!("value of {name} PriorityClass must be {known}")
            }
            Some(_) => return None,
        };
        return Some(Cause::forbidden(
            "metadata.name",
            &format!(
                "priority class names with 'system-' prefix are reserved for system use only. error: {detail}"
            ),
        ));
    }
    value.filter(|v| *v > HIGHEST_USER_PRIORITY).map(|_| {
        Cause::forbidden(
            "value",
            &format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        )
    })
}

/// The system classes as objects, for bootstrap.
pub fn system_class_objects() -> impl Iterator<Item = Value> {
    SYSTEM_CLASSES.iter().map(|(name, value, description)| {
        json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
            "globalDefault": false,
            "description": description,
            "preemptionPolicy": DEFAULT_PREEMPTION,
        })
    })
}
