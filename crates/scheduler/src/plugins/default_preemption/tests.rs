use super::*;
use crate::algorithm::schedule;
use crate::info::Resources;
use crate::plugins::default_plugins;
use serde_json::json;

fn node(name: &str, milli_cpu: i64) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        labels: std::sync::Arc::new(
            [("kubernetes.io/hostname".to_owned(), name.to_owned())].into(),
        ),
        allocatable: Resources {
            milli_cpu,
            memory: 8 << 30,
            ephemeral_storage: 0,
            pods: 110,
        },
        ..NodeInfo::default()
    }
}

fn running(node: &mut NodeInfo, name: &str, milli_cpu: i64, priority: i32, started: &str) {
    node.add_entry(
        name,
        PodEntry {
            requests: Resources {
                milli_cpu,
                pods: 1,
                ..Resources::default()
            },
            namespace: "d".into(),
            name: name.into(),
            labels: [("app".to_owned(), name.to_owned())].into(),
            priority,
            start_time: started.into(),
            ..PodEntry::default()
        },
    );
}

fn incoming(milli_cpu: i64, priority: i32, extra: serde_json::Value) -> PodInfo {
    let mut spec = json!({
        "priority": priority,
        "containers": [{"name": "c", "resources": {"requests": {"cpu": format!("{milli_cpu}m")}}}],
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    PodInfo::new(
        serde_json::from_value(
            json!({"metadata": {"name": "p", "namespace": "d", "uid": "p"}, "spec": spec}),
        )
        .unwrap(),
    )
}

/// Schedules, and on failure preempts, as the scheduler does.
fn run(pod: &PodInfo, nodes: &[NodeInfo], budgets: &[Budget]) -> Result<Candidate, String> {
    let refs: Vec<&NodeInfo> = nodes.iter().collect();
    let plugins = default_plugins();
    let fit =
        schedule(&plugins, pod, &refs, 0, None).expect_err("the pod should not fit anywhere as is");
    preempt(
        &plugins,
        pod,
        &refs,
        &fit,
        budgets,
        (0, PreemptionArgs::default()),
    )
}

const T1: &str = "2026-01-01T00:00:00Z";
const T2: &str = "2026-01-02T00:00:00Z";

#[test]
fn a_lower_priority_pod_makes_room_and_equal_ones_do_not() {
    let mut n = node("n", 1000);
    running(&mut n, "low", 800, 0, T1);
    let candidate = run(&incoming(500, 100, json!({})), &[n.clone()], &[]).unwrap();
    assert_eq!(candidate.node, "n");
    assert_eq!(candidate.victims.len(), 1);
    assert_eq!(candidate.victims[0].name, "low");

    let error = run(&incoming(500, 0, json!({})), &[n], &[]).unwrap_err();
    assert_eq!(
        error,
        "0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
}

#[test]
fn as_few_and_as_unimportant_victims_as_possible() {
    let mut n = node("n", 1000);
    running(&mut n, "older", 400, 10, T1);
    running(&mut n, "newer", 400, 10, T2);
    running(&mut n, "lowest", 100, 1, T2);
    // 100m free, 500m needed. Given back most important first: "older" fits again (600m
    // free), "newer" does not (200m), "lowest" does (500m): only "newer" goes.
    let candidate = run(&incoming(500, 100, json!({})), &[n], &[]).unwrap();
    let names: Vec<&str> = candidate.victims.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["newer"]);
}

#[test]
fn the_node_with_the_least_important_victims_is_chosen() {
    let mut a = node("a", 1000);
    running(&mut a, "a-pod", 900, 50, T1);
    let mut b = node("b", 1000);
    running(&mut b, "b-pod", 900, 10, T1);
    let mut c = node("c", 1000);
    running(&mut c, "c-pod", 900, 200, T1);
    let candidate = run(&incoming(500, 100, json!({})), &[a, b, c], &[]).unwrap();
    assert_eq!(candidate.node, "b");
    assert_eq!(candidate.victims[0].name, "b-pod");
}

#[test]
fn disruption_budgets_steer_preemption_elsewhere() {
    let mut a = node("a", 1000);
    running(&mut a, "guarded", 900, 10, T1);
    let mut b = node("b", 1000);
    running(&mut b, "free", 900, 10, T1);
    let budget = Budget {
        namespace: "d".into(),
        selector: Some(serde_json::from_value(json!({"matchLabels": {"app": "guarded"}})).unwrap()),
        disruptions_allowed: 0,
    };
    let candidate = run(
        &incoming(500, 100, json!({})),
        &[a.clone(), b.clone()],
        std::slice::from_ref(&budget),
    )
    .unwrap();
    assert_eq!(candidate.node, "b");
    assert_eq!(candidate.budget_violations, 0);
    // Only the guarded node: preemption still happens, counting the violation.
    let candidate = run(&incoming(500, 100, json!({})), &[a], &[budget]).unwrap();
    assert_eq!(
        (candidate.node.as_str(), candidate.budget_violations),
        ("a", 1)
    );
}

#[test]
fn nodes_preemption_cannot_fix_are_not_helpful_and_never_pods_do_not_preempt() {
    let mut fits_cpu = node("cpu", 1000);
    running(&mut fits_cpu, "low", 900, 0, T1);
    let mut wrong = node("wrong", 1000);
    wrong.unschedulable = true;
    let pod = incoming(
        500,
        100,
        json!({"nodeSelector": {"kubernetes.io/hostname": "cpu"}}),
    );
    let candidate = run(&pod, &[fits_cpu.clone(), wrong.clone()], &[]).unwrap();
    assert_eq!(candidate.node, "cpu");

    let mut same = node("same", 1000);
    running(&mut same, "peer", 900, 100, T1);
    let error = run(&incoming(500, 100, json!({})), &[same, wrong.clone()], &[]).unwrap_err();
    assert_eq!(
        error,
        "0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    );

    let never = incoming(500, 100, json!({"preemptionPolicy": "Never"}));
    assert_eq!(
        run(&never, &[fits_cpu], &[]).unwrap_err(),
        "not eligible due to preemptionPolicy=Never."
    );
}

#[test]
fn a_victim_whose_anti_affinity_blocks_the_pod_is_removed() {
    let mut n = node("n", 4000);
    n.add_entry(
        "loner",
        PodEntry {
            requests: Resources {
                milli_cpu: 100,
                pods: 1,
                ..Resources::default()
            },
            namespace: "d".into(),
            name: "loner".into(),
            priority: 0,
            start_time: T1.into(),
            affinity: Some(
                serde_json::from_value(json!({"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": {"role": "x"}},
                    "topologyKey": "kubernetes.io/hostname"}]}}))
                .unwrap(),
            ),
            ..PodEntry::default()
        },
    );
    let mut pod = incoming(100, 100, json!({}));
    pod.pod.metadata.labels = Some([("role".to_owned(), "x".to_owned())].into());
    let candidate = run(&pod, &[n], &[]).unwrap();
    assert_eq!(candidate.victims[0].name, "loner");
}

#[test]
fn nominated_pods_hold_their_room_against_lower_priority_pods() {
    let mut n = node("n", 1000);
    let waiting = incoming(800, 100, json!({}));
    n.nominated.push(("other".into(), PodEntry::of(&waiting)));
    let plugins = default_plugins();
    let low = incoming(500, 10, json!({}));
    assert!(schedule(&plugins, &low, &[&n], 0, None).is_err());
    let high = incoming(500, 1000, json!({}));
    assert_eq!(schedule(&plugins, &high, &[&n], 0, None).unwrap(), "n");
}

#[test]
fn two_preemptors_do_not_count_on_the_same_victims() {
    let mut a = node("a", 1000);
    running(&mut a, "a-low", 900, 0, T1);
    let mut b = node("b", 1000);
    running(&mut b, "b-low", 900, 0, T1);
    let first = incoming(600, 100, json!({}));
    let plugins = default_plugins();
    let args = (0, PreemptionArgs::default());
    let fit = schedule(&plugins, &first, &[&a, &b], 0, None).unwrap_err();
    let taken = preempt(&plugins, &first, &[&a, &b], &fit, &[], args).unwrap();
    let entry = ("first".to_owned(), PodEntry::of(&first));
    if taken.node == "a" {
        a.nominated.push(entry);
    } else {
        b.nominated.push(entry);
    }
    let mut second = incoming(600, 100, json!({}));
    second.uid = "second".into();
    let fit = schedule(&plugins, &second, &[&a, &b], 0, None).unwrap_err();
    let other = preempt(&plugins, &second, &[&a, &b], &fit, &[], args).unwrap();
    assert_ne!(other.node, taken.node);
}
