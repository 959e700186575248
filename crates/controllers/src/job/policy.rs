//! The parts of a Job's rules that need no API: what a failed pod means under the
//! `podFailurePolicy`, the retry back-off, and the completed-index ranges of `Indexed` Jobs.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeSet;
use std::time::Duration;

/// What a rule makes of a failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The Job fails at once, with this message.
    FailJob(String),
    /// The failure does not count against `backoffLimit`.
    Ignore,
    /// It counts (also when no rule matches).
    Count,
}

fn exit_codes_match(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<String> {
    let on = rule.on_exit_codes.as_ref()?;
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|status| {
        if on
            .container_name
            .as_ref()
            .is_some_and(|n| *n != status.name)
        {
            return None;
        }
        let code = status.state.as_ref()?.terminated.as_ref()?.exit_code;
        if code == 0 {
            return None;
        }
        let listed = on.values.contains(&code);
        let hit = match on.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        hit.then(|| {
            format!(
                "Container {} for pod {}/{} failed with exit code {code}",
                status.name,
                pod.metadata.namespace.as_deref().unwrap_or_default(),
                pod.metadata.name.as_deref().unwrap_or_default()
            )
        })
    })
}

fn conditions_match(rule: &PodFailurePolicyRule, pod: &Pod) -> Option<String> {
    let patterns = rule.on_pod_conditions.as_ref()?;
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    patterns.iter().find_map(|pattern| {
        let status = if pattern.status.is_empty() {
            "True"
        } else {
            pattern.status.as_str()
        };
        conditions
            .iter()
            .any(|c| c.type_ == pattern.type_ && c.status == status)
            .then(|| {
                format!(
                    "Pod {}/{} has condition {} matching",
                    pod.metadata.namespace.as_deref().unwrap_or_default(),
                    pod.metadata.name.as_deref().unwrap_or_default(),
                    pattern.type_
                )
            })
    })
}

/// The first matching rule's verdict for a failed pod (upstream's `matchPodFailurePolicy`).
pub fn judge(policy: Option<&PodFailurePolicy>, pod: &Pod) -> Verdict {
    let Some(policy) = policy else {
        return Verdict::Count;
    };
    for (index, rule) in policy.rules.iter().enumerate() {
        let Some(what) = exit_codes_match(rule, pod).or_else(|| conditions_match(rule, pod)) else {
            continue;
        };
        return match rule.action.as_str() {
            "FailJob" => Verdict::FailJob(format!("{what} matching FailJob rule at index {index}")),
            "Ignore" => Verdict::Ignore,
            _ => Verdict::Count,
        };
    }
    Verdict::Count
}

/// Upstream's pod-failure back-off: 10 s, doubling per failure, at most 6 minutes.
pub fn backoff(failures: i32) -> Duration {
    if failures <= 0 {
        return Duration::ZERO;
    }
    let exponent = u32::try_from(failures - 1).unwrap_or(0).min(10);
    Duration::from_secs(10u64 << exponent).min(Duration::from_secs(360))
}

/// Indexes as upstream writes `completedIndexes`: ascending, runs of consecutive ones as
/// `a-b` (`1,3-5,7`).
pub fn format_indexes(indexes: &BTreeSet<i32>) -> String {
    let mut parts = Vec::new();
    let mut run: Option<(i32, i32)> = None;
    for &i in indexes {
        run = match run {
            Some((start, end)) if i == end + 1 => Some((start, i)),
            Some((start, end)) => {
                parts.push(if start == end {
                    start.to_string()
                } else {
                    format!("{start}-{end}")
                });
                Some((i, i))
            }
            None => Some((i, i)),
        };
    }
    if let Some((start, end)) = run {
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// Reads `completedIndexes` back (malformed parts are skipped).
pub fn parse_indexes(text: &str) -> BTreeSet<i32> {
    let mut set = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    set.extend(a..=b);
                }
            }
            None => {
                if let Ok(i) = part.parse() {
                    set.insert(i);
                }
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed(code: i32) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "n"}, "status": {"phase": "Failed",
            "containerStatuses": [{"name": "main", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                "state": {"terminated": {"exitCode": code}}}]}}))
        .unwrap()
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let policy: PodFailurePolicy = serde_json::from_value(json!({"rules": [
            {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [42]}},
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [1, 2]}},
        ]}))
        .unwrap();
        assert_eq!(judge(Some(&policy), &failed(42)), Verdict::Ignore);
        assert_eq!(
            judge(Some(&policy), &failed(2)),
            Verdict::FailJob("Container main for pod n/p failed with exit code 2 matching FailJob rule at index 1".into())
        );
        assert_eq!(judge(Some(&policy), &failed(3)), Verdict::Count);
        assert_eq!(judge(None, &failed(2)), Verdict::Count);
    }

    #[test]
    fn back_off_doubles_to_six_minutes() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(3), Duration::from_secs(40));
        assert_eq!(backoff(9), Duration::from_secs(360));
    }

    #[test]
    fn completed_indexes_round_trip_as_ranges() {
        let set: BTreeSet<i32> = [0, 1, 2, 4, 6, 7].into_iter().collect();
        assert_eq!(format_indexes(&set), "0-2,4,6-7");
        assert_eq!(parse_indexes("0-2,4,6-7"), set);
        assert_eq!(format_indexes(&BTreeSet::new()), "");
    }
}
