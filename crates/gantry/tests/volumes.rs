//! The volume controllers in `gantry server`, driven with kubectl (no node: binding needs
//! none): a claim binds the smallest fitting volume of its class, a class-less claim gets the
//! default `local-path` class and waits for its first consumer, a claim nothing can satisfy
//! says why, a claim in use by a pod outlives its deletion until the pod goes, and then its
//! volume is `Released` (kept, by its `Retain` policy) until it is deleted.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::{Server, poll};

const OBJECTS: &str = "apiVersion: v1
kind: PersistentVolume
metadata: {name: small, labels: {size: small}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/gantry-e2e-small}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: big}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/gantry-e2e-big}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: {requests: {storage: 500Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: defaulted}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nothing}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ''
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  containers: [{name: c, image: registry.invalid/app:1}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: claim}}]
";

/// Polls until `jsonpath` of `what` reads `want`; returns the last reading.
fn wait_for(k: &Kubectl, what: &[&str], jsonpath: &str, want: &str) -> String {
    let seen = poll(|| {
        let s = k.jsonpath(what, jsonpath);
        if s == want { s } else { String::new() }
    });
    if seen.is_empty() {
        k.jsonpath(what, jsonpath)
    } else {
        seen
    }
}

#[test]
fn claims_bind_wait_for_consumers_and_are_protected_while_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("objects.yaml");
    std::fs::write(&file, OBJECTS).unwrap();
    // The default class comes with the controller manager.
    let class = poll(|| {
        k.jsonpath(
            &["storageclass", "local-path", "--ignore-not-found"],
            "{.provisioner} {.volumeBindingMode}",
        )
    });
    assert_eq!(class, "rancher.io/local-path WaitForFirstConsumer");
    assert!(
        k.ok(&["get", "storageclass"])
            .contains("local-path (default)")
    );
    k.ok(&["apply", "-f", file.to_str().unwrap()]);

    // The smallest volume that fits.
    assert_eq!(
        wait_for(
            &k,
            &["pvc", "claim"],
            "{.status.phase} {.spec.volumeName} {.status.capacity.storage}",
            "Bound small 1Gi"
        ),
        "Bound small 1Gi"
    );
    assert_eq!(
        wait_for(
            &k,
            &["pv", "small"],
            "{.status.phase} {.spec.claimRef.name}",
            "Bound claim"
        ),
        "Bound claim"
    );
    assert_eq!(k.jsonpath(&["pv", "big"], "{.status.phase}"), "Available");
    assert_eq!(
        k.jsonpath(
            &["pvc", "claim"],
            "{.metadata.annotations.pv\\.kubernetes\\.io/bind-completed}"
        ),
        "yes"
    );

    // No class named: the default, which waits for the pod's node.
    assert_eq!(
        k.jsonpath(&["pvc", "defaulted"], "{.spec.storageClassName}"),
        "local-path"
    );
    let waiting = poll(|| {
        let events = k.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=defaulted",
        ]);
        if events.contains("WaitForFirstConsumer") {
            events
        } else {
            String::new()
        }
    });
    assert!(
        waiting.contains("waiting for first consumer to be created before binding"),
        "{waiting}"
    );
    assert_eq!(
        k.jsonpath(&["pvc", "defaulted"], "{.status.phase}"),
        "Pending"
    );

    // An explicit empty class: no default, no volume, and the claim says so.
    let failed = poll(|| {
        let events = k.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=nothing",
        ]);
        if events.contains("FailedBinding") {
            events
        } else {
            String::new()
        }
    });
    assert!(
        failed
            .contains("no persistent volumes available for this claim and no storage class is set"),
        "{failed}"
    );

    // In use: the claim waits for the pod before it goes.
    k.ok(&["delete", "pvc", "claim", "--wait=false"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        k.jsonpath(
            &["pvc", "claim"],
            "{.metadata.finalizers[0]} {.status.phase}"
        ),
        "kubernetes.io/pvc-protection Bound"
    );
    k.ok(&["delete", "pod", "user", "--grace-period=0", "--force"]);
    let gone = poll(|| {
        let left = k.ok(&["get", "pvc", "claim", "--ignore-not-found", "-o", "name"]);
        if left.is_empty() {
            "gone".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(gone, "gone", "the claim outlived its last user");
    // Retained: released, not deleted; then deleting it works (nothing holds it any more).
    assert_eq!(
        wait_for(&k, &["pv", "small"], "{.status.phase}", "Released"),
        "Released"
    );
    k.ok(&["delete", "pv", "small", "--timeout=30s"]);
    server.stop();
}
