//! The scheduler's configuration, read from upstream's `KubeSchedulerConfiguration`
//! (`kubescheduler.config.k8s.io/v1`) so that existing files work: profiles by
//! `schedulerName`, each with its plugins enabled or disabled per extension point (or all
//! points at once with `multiPoint`), score weights, `percentageOfNodesToScore`, plugin
//! arguments (NodeResourcesFit's scoring strategy, DefaultPreemption's candidate counts), and
//! leader election. Fields this scheduler has no use for are accepted and ignored, as
//! upstream's lenient decoding of older files does.

use crate::plugins::{self, Weighted};
use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// One profile per `schedulerName` served.
    pub profiles: Vec<Profile>,
    /// Leader election among several schedulers.
    pub leader_election: LeaderElection,
}

/// One profile: the pods whose `schedulerName` it is, and how they are placed.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The `schedulerName` served.
    pub name: String,
    /// `percentageOfNodesToScore`; `None` is upstream's adaptive default.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// The filter and score plugins, in upstream's order.
    pub plugins: Vec<Weighted>,
    /// DefaultPreemption's arguments, `None` when it is disabled.
    pub preemption: Option<PreemptionArgs>,
    /// PodTopologySpread's default constraints for pods without their own (upstream's
    /// `System` defaults unless `defaultingType: List` names others).
    pub default_constraints: Vec<k8s_openapi::api::core::v1::TopologySpreadConstraint>,
}

/// DefaultPreemption's arguments (how many candidate nodes are enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreemptionArgs {
    /// At least this share of the nodes, in percent.
    pub min_candidate_nodes_percentage: usize,
    /// And at least this many.
    pub min_candidate_nodes_absolute: usize,
}

impl Default for PreemptionArgs {
    fn default() -> Self {
        Self {
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

/// Leader election through a `Lease`, with upstream's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// Whether to take part at all (one scheduler alone needs none).
    pub leader_elect: bool,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// How often candidates try.
    pub retry_period: Duration,
    /// The Lease's namespace.
    pub resource_namespace: String,
    /// The Lease's name.
    pub resource_name: String,
}

impl Default for LeaderElection {
    fn default() -> Self {
        Self {
            leader_elect: true,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            resource_namespace: "kube-system".to_owned(),
            resource_name: "kube-scheduler".to_owned(),
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            profiles: vec![Profile::default_named("default-scheduler")],
            leader_election: LeaderElection::default(),
        }
    }
}

impl Profile {
    /// Upstream's default profile under another name.
    pub fn default_named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            percentage_of_nodes_to_score: None,
            plugins: plugins::default_plugins(),
            preemption: Some(PreemptionArgs::default()),
            default_constraints: plugins::pod_topology_spread::system_defaults(),
        }
    }
}

// ---- the file's shape (only what is read) ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    api_version: Option<String>,
    kind: Option<String>,
    percentage_of_nodes_to_score: Option<u32>,
    leader_election: Option<FileLeaderElection>,
    #[serde(default)]
    profiles: Vec<FileProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileLeaderElection {
    leader_elect: Option<bool>,
    lease_duration: Option<String>,
    renew_deadline: Option<String>,
    retry_period: Option<String>,
    resource_namespace: Option<String>,
    resource_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileProfile {
    scheduler_name: Option<String>,
    percentage_of_nodes_to_score: Option<u32>,
    plugins: Option<BTreeMap<String, PluginSet>>,
    #[serde(default)]
    plugin_config: Vec<PluginConfig>,
}

#[derive(Debug, Default, Deserialize)]
struct PluginSet {
    #[serde(default)]
    enabled: Vec<PluginRef>,
    #[serde(default)]
    disabled: Vec<PluginRef>,
}

#[derive(Debug, Default, Deserialize)]
struct PluginRef {
    name: String,
    weight: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct PluginConfig {
    name: String,
    #[serde(default)]
    args: serde_json::Value,
}

/// A Go duration such as `15s`, `1m30s` or `500ms`.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| anyhow!("duration {text:?} lacks a unit"))?;
        let (number, tail) = rest.split_at(digits);
        let number: f64 = number
            .parse()
            .with_context(|| format!("bad duration {text:?}"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => bail!("unknown unit {other:?} in duration {text:?}"),
        };
        total += Duration::from_secs_f64(number * seconds);
        rest = tail;
    }
    Ok(total)
}

/// Which extension points a plugin takes part in and with what weight, while the file's
/// plugin sets are applied.
#[derive(Debug, Clone)]
struct Slot {
    weighted: Weighted,
    filter: bool,
    score: Option<i64>,
}

fn apply_set(slots: &mut [Slot], point: &str, set: &PluginSet) -> anyhow::Result<bool> {
    let (filter, score) = match point {
        "multiPoint" => (true, true),
        "preFilter" | "filter" => (true, false),
        "preScore" | "score" => (false, true),
        // Points with nothing to configure here (queue sort, reserve, permit, binding): the
        // built-in behaviour stands.
        _ => (false, false),
    };
    let mut preemption = true;
    for disabled in &set.disabled {
        if disabled.name == "DefaultPreemption" || (disabled.name == "*" && point == "postFilter") {
            preemption = false;
        }
        for slot in slots
            .iter_mut()
            .filter(|s| disabled.name == "*" || s.weighted.plugin.name() == disabled.name)
        {
            if filter {
                slot.filter = false;
            }
            if score {
                slot.score = None;
            }
        }
    }
    for enabled in &set.enabled {
        if enabled.name == "DefaultPreemption" {
            preemption = true;
            continue;
        }
        let slot = slots
            .iter_mut()
            .find(|s| s.weighted.plugin.name() == enabled.name)
            .ok_or_else(|| {
                anyhow!(
                    "plugin {:?} enabled at {point} is not a plugin of this scheduler",
                    enabled.name
                )
            })?;
        if filter {
            slot.filter = true;
        }
        if score && slot.weighted.plugin.scores() {
            let default = if slot.weighted.weight > 0 {
                slot.weighted.weight
            } else {
                1
            };
            slot.score = Some(enabled.weight.filter(|w| *w > 0).unwrap_or(default));
        }
    }
    Ok(preemption)
}

fn profile(file: &FileProfile, global_percentage: Option<u32>) -> anyhow::Result<Profile> {
    let name = file
        .scheduler_name
        .clone()
        .unwrap_or_else(|| "default-scheduler".to_owned());
    let mut slots: Vec<Slot> = plugins::default_plugins()
        .into_iter()
        .map(|weighted| Slot {
            filter: weighted.filter,
            score: (weighted.weight > 0).then_some(weighted.weight),
            weighted,
        })
        .collect();
    let mut preemption = Some(PreemptionArgs::default());
    let mut default_constraints = plugins::pod_topology_spread::system_defaults();
    if let Some(sets) = &file.plugins {
        // `multiPoint` first, then the single points override it, as upstream merges them.
        let mut points: Vec<(&String, &PluginSet)> = sets.iter().collect();
        points.sort_by_key(|(point, _)| *point != "multiPoint");
        for (point, set) in points {
            if !apply_set(&mut slots, point, set)? {
                preemption = None;
            }
        }
    }
    for config in &file.plugin_config {
        match config.name.as_str() {
            "NodeResourcesFit" => {
                let fit = plugins::node_resources_fit::NodeResourcesFit::from_args(&config.args)
                    .with_context(|| format!("profile {name}: NodeResourcesFit's args"))?;
                for slot in slots
                    .iter_mut()
                    .filter(|s| s.weighted.plugin.name() == "NodeResourcesFit")
                {
                    slot.weighted.plugin = std::sync::Arc::new(fit.clone());
                }
            }
            "PodTopologySpread" => {
                match config.args.get("defaultingType").and_then(|t| t.as_str()) {
                    None | Some("System") => {}
                    Some("List") => {
                        let list = config
                            .args
                            .get("defaultConstraints")
                            .cloned()
                            .unwrap_or(serde_json::Value::Array(Vec::new()));
                        default_constraints = serde_json::from_value(list).with_context(|| {
                            format!("profile {name}: PodTopologySpread's defaultConstraints")
                        })?;
                    }
                    Some(other) => bail!("profile {name}: unknown defaultingType {other:?}"),
                }
            }
            "DefaultPreemption" => {
                if let Some(args) = preemption.as_mut() {
                    let read = |key: &str| config.args.get(key).and_then(serde_json::Value::as_u64);
                    if let Some(p) = read("minCandidateNodesPercentage") {
                        args.min_candidate_nodes_percentage = p.min(100) as usize;
                    }
                    if let Some(a) = read("minCandidateNodesAbsolute") {
                        args.min_candidate_nodes_absolute = a as usize;
                    }
                }
            }
            _ => {}
        }
    }
    let plugins = slots
        .into_iter()
        .filter(|s| s.filter || s.score.is_some())
        .map(|s| Weighted {
            plugin: s.weighted.plugin,
            weight: s.score.unwrap_or(0),
            filter: s.filter,
        })
        .collect();
    Ok(Profile {
        name,
        percentage_of_nodes_to_score: file
            .percentage_of_nodes_to_score
            .or(global_percentage)
            .filter(|p| *p > 0),
        plugins,
        preemption,
        default_constraints,
    })
}

impl SchedulerConfig {
    /// Reads a `KubeSchedulerConfiguration` (YAML or JSON).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: File = serde_yaml::from_str(text).context("not a scheduler configuration")?;
        if let Some(kind) = &file.kind
            && kind != "KubeSchedulerConfiguration"
        {
            bail!("kind {kind:?} is not KubeSchedulerConfiguration");
        }
        if let Some(version) = &file.api_version
            && !version.starts_with("kubescheduler.config.k8s.io/")
        {
            bail!("apiVersion {version:?} is not kubescheduler.config.k8s.io/v1");
        }
        let mut profiles = Vec::new();
        if file.profiles.is_empty() {
            let mut only = Profile::default_named("default-scheduler");
            only.percentage_of_nodes_to_score = file.percentage_of_nodes_to_score;
            profiles.push(only);
        }
        for p in &file.profiles {
            let parsed = profile(p, file.percentage_of_nodes_to_score)?;
            if profiles.iter().any(|o: &Profile| o.name == parsed.name) {
                bail!("duplicate profile with scheduler name {:?}", parsed.name);
            }
            profiles.push(parsed);
        }
        let mut leader_election = LeaderElection::default();
        if let Some(le) = &file.leader_election {
            let duration = |value: &Option<String>, default: Duration| {
                value.as_deref().map_or(Ok(default), parse_duration)
            };
            leader_election = LeaderElection {
                leader_elect: le.leader_elect.unwrap_or(true),
                lease_duration: duration(&le.lease_duration, leader_election.lease_duration)?,
                renew_deadline: duration(&le.renew_deadline, leader_election.renew_deadline)?,
                retry_period: duration(&le.retry_period, leader_election.retry_period)?,
                resource_namespace: le
                    .resource_namespace
                    .clone()
                    .unwrap_or(leader_election.resource_namespace),
                resource_name: le
                    .resource_name
                    .clone()
                    .unwrap_or(leader_election.resource_name),
            };
        }
        Ok(Self {
            profiles,
            leader_election,
        })
    }

    /// Reads the file at `path`.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// The profile serving `scheduler_name`.
    pub fn profile(&self, scheduler_name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == scheduler_name)
    }
}

#[cfg(test)]
mod tests;
