//! StatefulSets end to end on a real node: stable names created in order (each after the
//! previous is Ready), claims from `volumeClaimTemplates` bound to volumes the built-in
//! local-path provisioner makes (whose data survives the pod), scale-down from the highest
//! ordinal, and a rolling update that replaces every pod and settles the revisions.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::node::start_node;
use common::poll_for;
use std::time::Duration;

const WEB: &str = "apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:1.36
        command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]
        volumeMounts: [{name: www, mountPath: /www}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
";

#[test]
fn a_stateful_set_starts_pods_in_order_with_their_own_claims_and_rolls_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-15", "gte2e15", "10.42.117.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("web.yaml");
    std::fs::write(&file, WEB).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let done = k.ok(&["rollout", "status", "statefulset/web", "--timeout=120s"]);
    assert!(
        done.contains("partitioned roll out complete")
            || done.contains("rolling update complete")
            || done.contains("3 new pods have been updated"),
        "{done}"
    );
    let names = k.jsonpath(&["pods", "-l", "app=web"], "{.items[*].metadata.name}");
    assert_eq!(names, "web-0 web-1 web-2");
    assert_eq!(
        k.jsonpath(&["pod", "web-1"], "{.spec.hostname}.{.spec.subdomain}"),
        "web-1.web"
    );
    // Ordered: each pod was created once the one before was ready.
    let ready_at = |pod: &str| {
        k.jsonpath(
            &["pod", pod],
            "{.status.conditions[?(@.type==\"Ready\")].lastTransitionTime}",
        )
    };
    let created_at = |pod: &str| k.jsonpath(&["pod", pod], "{.metadata.creationTimestamp}");
    assert!(
        created_at("web-1") >= ready_at("web-0"),
        "web-1 came before web-0 was ready: {} < {}\n{}\n{}",
        created_at("web-1"),
        ready_at("web-0"),
        k.ok(&["get", "events", "--sort-by=.lastTimestamp"]),
        k.ok(&["get", "pod", "web-0", "-o", "yaml"])
    );
    assert!(
        created_at("web-2") >= ready_at("web-1"),
        "web-2 came before web-1 was ready"
    );

    // Claims from the template, one per pod, each bound to its own local-path volume
    // (the default class) on the node.
    for ordinal in 0..3 {
        let claim = format!("www-web-{ordinal}");
        assert_eq!(
            k.jsonpath(
                &["pod", &format!("web-{ordinal}")],
                "{.spec.volumes[0].persistentVolumeClaim.claimName}"
            ),
            claim
        );
        let bound = k.jsonpath(&["pvc", &claim], "{.status.phase} {.spec.storageClassName} {.metadata.annotations.volume\\.kubernetes\\.io/selected-node}");
        assert_eq!(
            bound,
            "Bound local-path e2e-node-15",
            "{}",
            k.ok(&["describe", "pvc", &claim])
        );
        let volume = k.jsonpath(&["pvc", &claim], "{.spec.volumeName}");
        assert_eq!(
            k.jsonpath(&["pv", &volume], "{.status.phase} {.spec.claimRef.name} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}"),
            format!("Bound {claim} e2e-node-15")
        );
    }
    // The data outlives the pod: the replacement mounts the same volume.
    k.ok(&[
        "exec",
        "web-1",
        "--",
        "sh",
        "-c",
        "echo kept-by-web-1 > /www/data",
    ]);
    let old_uid = k.jsonpath(&["pod", "web-1"], "{.metadata.uid}");
    k.ok(&["delete", "pod", "web-1"]);
    let back = poll_for(Duration::from_secs(90), || {
        let s = k.jsonpath(
            &["pod", "web-1", "--ignore-not-found"],
            "{.metadata.uid} {.status.phase}",
        );
        match s.split_once(' ') {
            Some((uid, "Running")) if uid != old_uid => s,
            _ => String::new(),
        }
    });
    assert!(!back.is_empty(), "web-1 did not come back");
    assert_eq!(
        k.ok(&["exec", "web-1", "--", "cat", "/www/data"]).trim(),
        "kept-by-web-1"
    );

    // Scale down: the highest ordinal goes first.
    k.ok(&["scale", "statefulset", "web", "--replicas=1"]);
    let one = poll_for(Duration::from_secs(60), || {
        let n = k.jsonpath(&["pods", "-l", "app=web"], "{.items[*].metadata.name}");
        if n == "web-0" { n } else { String::new() }
    });
    assert_eq!(one, "web-0");
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=StatefulSet,involvedObject.name=web",
        "--sort-by=.lastTimestamp",
    ]);
    let (two, first) = (
        events.find("delete Pod web-2").unwrap(),
        events.find("delete Pod web-1").unwrap(),
    );
    assert!(two < first, "web-2 was deleted before web-1: {events}");
    // `whenScaled: Delete`: the removed pods' claims go with them (and their local-path
    // volumes with the claims); web-0 keeps its own.
    let claims = poll_for(Duration::from_secs(60), || {
        let c = k.jsonpath(&["pvc", "-l", "app=web"], "{.items[*].metadata.name}");
        if c == "www-web-0" { c } else { String::new() }
    });
    assert_eq!(
        claims,
        "www-web-0",
        "{}",
        k.ok(&["get", "pvc", "-o", "yaml"])
    );
    let volumes = poll_for(Duration::from_secs(60), || {
        let v = k.jsonpath(&["pv"], "{.items[*].spec.claimRef.name}");
        if v == "www-web-0" { v } else { String::new() }
    });
    assert_eq!(volumes, "www-web-0", "{}", k.ok(&["get", "pv"]));
    // And their data with them: the node removed the directories (web-0's stays).
    let mut left: Vec<String> = std::fs::read_dir(dir.path().join("storage"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.retain(|name| name.starts_with("pvc-"));
    assert!(
        left.len() == 1 && left[0].ends_with("_default_www-web-0"),
        "{left:?}"
    );

    // A new template rolls out; the revisions settle.
    k.ok(&["scale", "statefulset", "web", "--replicas=2"]);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=120s"]);
    k.ok(&["set", "env", "statefulset/web", "VERSION=2"]);
    let settled = poll_for(Duration::from_secs(120), || {
        let s = k.jsonpath(&["sts", "web"],
            "{.status.currentRevision}={.status.updateRevision} {.status.updatedReplicas}/{.status.readyReplicas}",
        );
        let (revisions, counts) = s.split_once(' ').unwrap_or_default();
        let (current, update) = revisions.split_once('=').unwrap_or_default();
        if current == update && counts == "2/2" {
            s
        } else {
            String::new()
        }
    });
    assert!(
        !settled.is_empty(),
        "the rollout never settled: {}",
        k.jsonpath(&["sts", "web"], "{.status}")
    );
    let env = k.jsonpath(
        &["pods", "-l", "app=web"],
        "{.items[*].spec.containers[0].env[0].value}",
    );
    assert_eq!(env, "2 2");
    server.stop();
}
