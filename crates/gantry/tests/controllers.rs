//! The controller manager in `gantry server`, driven with kubectl: a ReplicaSet keeps its
//! replicas (replacing a deleted pod, scaling both ways), adopts a matching orphan, releases a
//! pod whose labels stop matching, reports its status, and records upstream's events; the
//! garbage collector deletes dependents in the background or the foreground, leaves them with
//! `--cascade=orphan`, and removes objects whose owner is gone. No node runs here: pods only
//! need to exist (and be active) for the controllers to count them.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::{Server, poll};

const REPLICA_SET: &str = "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
      - name: c
        image: registry.invalid/web:1
";

/// The names of the pods `web` controls, sorted, space-separated.
fn owned(k: &Kubectl) -> Vec<String> {
    let out = k.ok(&[
        "get",
        "pods",
        "-o",
        "jsonpath={range .items[?(@.metadata.ownerReferences[0].name==\"web\")]}{.metadata.name}{\" \"}{end}",
    ]);
    let mut names: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    names.sort();
    names
}

/// Waits until `web` controls exactly `count` pods, and returns them.
fn wait_for_owned(k: &Kubectl, count: usize) -> Vec<String> {
    let names = poll(|| {
        let names = owned(k);
        if names.len() == count {
            names.join(" ")
        } else {
            String::new()
        }
    });
    assert!(
        !names.is_empty() || count == 0,
        "web never had {count} pods: {:?}",
        owned(k)
    );
    names.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn a_replica_set_keeps_its_replicas_adopts_orphans_and_releases_strays() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let manifest = dir.path().join("rs.yaml");
    std::fs::write(&manifest, REPLICA_SET).unwrap();
    k.ok(&["create", "-f", manifest.to_str().unwrap()]);

    let first = wait_for_owned(&k, 3);
    assert!(first.iter().all(|n| n.starts_with("web-")), "{first:?}");
    let reference = k.ok(&[
        "get",
        "pod",
        &first[0],
        "-o",
        "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}/{.metadata.ownerReferences[0].blockOwnerDeletion}/{.metadata.labels.tier}",
    ]);
    assert_eq!(reference, "ReplicaSet/true/true/front");
    let status = poll(|| {
        let s = k.ok(&[
            "get",
            "rs",
            "web",
            "-o",
            "jsonpath={.status.replicas}/{.status.fullyLabeledReplicas}/{.status.readyReplicas}/{.status.observedGeneration}",
        ]);
        if s == "3/3/0/1" { s } else { String::new() }
    });
    assert_eq!(status, "3/3/0/1", "status never settled");
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=ReplicaSet",
    ]);
    assert!(events.contains("SuccessfulCreate"), "{events}");
    assert!(
        events.contains(&format!("Created pod: {}", first[0])),
        "{events}"
    );

    // A deleted pod is replaced.
    k.ok(&["delete", "pod", &first[0], "--wait=false"]);
    let replaced = poll(|| {
        let names = owned(&k);
        if names.len() == 3 && !names.contains(&first[0]) {
            names.join(" ")
        } else {
            String::new()
        }
    });
    assert!(
        !replaced.is_empty(),
        "no replacement for {}: {:?}",
        first[0],
        owned(&k)
    );

    // Scaling down deletes, and the table shows the counts.
    k.ok(&["scale", "rs", "web", "--replicas=1"]);
    wait_for_owned(&k, 1);
    let table = poll(|| {
        let t = k.ok(&["get", "rs", "web"]);
        if t.lines().nth(1).is_some_and(|l| {
            l.split_whitespace().nth(1) == Some("1") && l.split_whitespace().nth(2) == Some("1")
        }) {
            t
        } else {
            String::new()
        }
    });
    assert!(
        table.starts_with("NAME"),
        "DESIRED and CURRENT never showed 1: {}",
        k.ok(&["get", "rs", "web"])
    );

    // A matching orphan is adopted; one pod too many, the newer goes.
    k.ok(&[
        "run",
        "stray",
        "--image=registry.invalid/web:1",
        "--labels=app=web",
    ]);
    let adopted = poll(|| {
        let owner = k.ok(&[
            "get",
            "pod",
            "stray",
            "--ignore-not-found",
            "-o",
            "jsonpath={.metadata.ownerReferences[0].name}",
        ]);
        let gone = k
            .ok(&["get", "pod", "stray", "--ignore-not-found", "-o", "name"])
            .is_empty();
        if owner == "web" || gone {
            "yes".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(adopted, "yes", "the orphan was neither adopted nor removed");
    assert_eq!(wait_for_owned(&k, 1).len(), 1);

    // A pod whose labels stop matching is released, and replaced.
    let kept = wait_for_owned(&k, 1).remove(0);
    k.ok(&["label", "pod", &kept, "app=other", "--overwrite"]);
    let released = poll(|| {
        let owner = k.ok(&[
            "get",
            "pod",
            &kept,
            "-o",
            "jsonpath={.metadata.ownerReferences}",
        ]);
        if owner.is_empty() {
            "released".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(released, "released");
    let now = wait_for_owned(&k, 1);
    assert_ne!(now[0], kept);
    server.stop();
}

/// Names of `kind` objects labelled `app=<app>`, space-separated.
fn names(k: &Kubectl, kind: &str, app: &str) -> String {
    let selector = format!("app={app}");
    k.ok(&[
        "get",
        kind,
        "-l",
        &selector,
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ])
}

/// Creates Deployment `name` (2 replicas) and waits for its ReplicaSet and pods.
fn deployment_with_children(k: &Kubectl, name: &str) {
    k.ok(&[
        "create",
        "deployment",
        name,
        "--image=registry.invalid/web:1",
        "--replicas=2",
    ]);
    let pods = poll(|| {
        let pods = names(k, "pods", name);
        if pods.split_whitespace().count() == 2 {
            pods
        } else {
            String::new()
        }
    });
    assert!(!pods.is_empty(), "{name} never had 2 pods");
    assert_eq!(names(k, "rs", name).split_whitespace().count(), 1);
}

#[test]
fn the_garbage_collector_deletes_in_background_and_foreground_and_orphans_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);

    // Background (kubectl's default): the Deployment goes at once, its children after.
    deployment_with_children(&k, "bg");
    k.ok(&["delete", "deployment", "bg"]);
    let gone = poll(|| {
        let left = format!("{}{}", names(&k, "rs", "bg"), names(&k, "pods", "bg"));
        if left.is_empty() {
            "gone".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(
        gone,
        "gone",
        "children left: {} {}",
        names(&k, "rs", "bg"),
        names(&k, "pods", "bg")
    );

    // Orphan: the children stay, without their reference to the Deployment.
    deployment_with_children(&k, "orph");
    k.ok(&["delete", "deployment", "orph", "--cascade=orphan"]);
    let deleted = poll(|| {
        let d = k.ok(&[
            "get",
            "deployment",
            "orph",
            "--ignore-not-found",
            "-o",
            "name",
        ]);
        if d.is_empty() {
            "yes".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(deleted, "yes", "the orphaning Deployment never went");
    let set = names(&k, "rs", "orph");
    assert_eq!(set.split_whitespace().count(), 1, "the ReplicaSet stays");
    assert_eq!(
        k.ok(&[
            "get",
            "rs",
            &set,
            "-o",
            "jsonpath={.metadata.ownerReferences}"
        ]),
        ""
    );
    assert_eq!(
        names(&k, "pods", "orph").split_whitespace().count(),
        2,
        "its pods stay"
    );

    // Foreground: the Deployment waits, marked, until its children are gone.
    deployment_with_children(&k, "fg");
    k.ok(&[
        "delete",
        "deployment",
        "fg",
        "--cascade=foreground",
        "--wait=false",
    ]);
    let last_seen = poll(|| {
        let d = k.ok(&[
            "get",
            "deployment",
            "fg",
            "--ignore-not-found",
            "-o",
            "name",
        ]);
        let children = format!("{}{}", names(&k, "rs", "fg"), names(&k, "pods", "fg"));
        if d.is_empty() {
            format!("deployment gone; children then: [{children}]")
        } else {
            String::new()
        }
    });
    assert_eq!(last_seen, "deployment gone; children then: []");

    // A dangling owner reference: the dependent is collected.
    let file = dir.path().join("dangling.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leftover\n  labels: {app: leftover}\n  ownerReferences:\n  - {apiVersion: v1, kind: ConfigMap, name: ghost, uid: 00000000-0000-4000-8000-000000000000}\n").unwrap();
    k.ok(&["create", "-f", file.to_str().unwrap()]);
    let collected = poll(|| {
        if names(&k, "configmaps", "leftover").is_empty() {
            "collected".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(collected, "collected");
    server.stop();
}

#[test]
fn deleting_a_namespace_empties_it_reports_what_holds_it_and_then_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&["create", "namespace", "doomed"]);
    assert_eq!(
        k.ok(&["get", "ns", "doomed", "-o", "jsonpath={.spec.finalizers}"]),
        r#"["kubernetes"]"#
    );
    k.ok(&[
        "-n",
        "doomed",
        "create",
        "configmap",
        "plain",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "-n",
        "doomed",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "-n",
        "doomed",
        "create",
        "deployment",
        "web",
        "--image=registry.invalid/web:1",
        "--replicas=2",
    ]);
    k.ok(&[
        "-n",
        "doomed",
        "create",
        "service",
        "clusterip",
        "web",
        "--tcp=80:80",
    ]);
    let file = dir.path().join("held.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: doomed\n  finalizers: [example.com/hold]\n",
    )
    .unwrap();
    k.ok(&["create", "-f", file.to_str().unwrap()]);
    let pods = poll(|| k.ok(&["-n", "doomed", "get", "pods", "-o", "name"]));
    assert!(!pods.is_empty(), "the deployment's pods never appeared");

    k.ok(&["delete", "namespace", "doomed", "--wait=false"]);
    // Everything else goes; the held ConfigMap keeps the namespace, and the status says so.
    let held = poll(|| {
        let c = k.ok(&["get", "ns", "doomed", "-o", "jsonpath={.status.phase} {range .status.conditions[?(@.type==\"NamespaceFinalizersRemaining\")]}{.status}: {.message}{end}"]);
        if c.contains("True") { c } else { String::new() }
    });
    assert_eq!(
        held,
        "Terminating True: Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    );
    let left = poll(|| {
        let all = k.ok(&[
            "-n",
            "doomed",
            "get",
            "pods,deployments,replicasets,services,secrets,configmaps",
            "-o",
            "name",
        ]);
        if all.trim() == "configmap/held" {
            all
        } else {
            String::new()
        }
    });
    assert_eq!(
        left.trim(),
        "configmap/held",
        "everything but the held ConfigMap goes"
    );

    // Released, the namespace goes too.
    k.ok(&[
        "-n",
        "doomed",
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    let gone = poll(|| {
        let ns = k.ok(&["get", "ns", "doomed", "--ignore-not-found", "-o", "name"]);
        if ns.is_empty() {
            "gone".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(gone, "gone");
    server.stop();
}

#[test]
fn a_replication_controller_keeps_its_replicas_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("rc.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: legacy}\nspec:\n  replicas: 3\n  template:\n    metadata: {labels: {app: legacy}}\n    spec:\n      containers: [{name: c, image: registry.invalid/web:1}]\n",
    )
    .unwrap();
    k.ok(&["create", "-f", file.to_str().unwrap()]);
    let count = |k: &Kubectl| names(k, "pods", "legacy").split_whitespace().count();
    let three = poll(|| {
        if count(&k) == 3 {
            "3".to_owned()
        } else {
            String::new()
        }
    });
    assert_eq!(three, "3", "the selector defaults to the template's labels");
    let owner = k.ok(&[
        "get",
        "pods",
        "-l",
        "app=legacy",
        "-o",
        "jsonpath={.items[0].metadata.ownerReferences[0].kind}",
    ]);
    assert_eq!(owner, "ReplicationController");
    k.ok(&["scale", "rc", "legacy", "--replicas=1"]);
    let one = poll(|| {
        let s = k.ok(&["get", "rc", "legacy", "-o", "jsonpath={.status.replicas}"]);
        if count(&k) == 1 && s == "1" {
            s
        } else {
            String::new()
        }
    });
    assert_eq!(one, "1");
    server.stop();
}

#[test]
fn quotas_report_usage_and_disruption_budgets_their_room() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&["create", "namespace", "counted"]);
    // The quota as YAML: `kubectl create quota` sends protobuf, which comes with issue #7.
    k.ok(&[
        "-n",
        "counted",
        "create",
        "configmap",
        "one",
        "--from-literal=a=b",
    ]);
    let file = dir.path().join("web.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: counted}\nspec:\n  hard: {pods: '10', requests.cpu: '2', requests.memory: 1Gi, configmaps: '5', services: '2'}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: counted}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c, image: registry.invalid/web:1, resources: {requests: {cpu: 250m, memory: 64Mi}}}]\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: counted}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: web}}\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    // Two ConfigMaps: `one` and the namespace's kube-root-ca.crt, as upstream counts them.
    let used = poll(|| {
        let u = k.ok(&["-n", "counted", "get", "quota", "q", "-o", "jsonpath={.status.used.pods} {.status.used.requests\\.cpu} {.status.used.requests\\.memory} {.status.used.configmaps} {.status.used.services}"]);
        if u == "2 500m 128Mi 2 0" {
            u
        } else {
            String::new()
        }
    });
    assert_eq!(
        used,
        "2 500m 128Mi 2 0",
        "{}",
        k.ok(&["-n", "counted", "get", "quota", "q", "-o", "yaml"])
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "counted",
            "get",
            "quota",
            "q",
            "-o",
            "jsonpath={.status.hard.pods}"
        ]),
        "10"
    );
    // No node runs the pods: none is healthy, so none may be disrupted.
    let budget = poll(|| {
        let b = k.ok(&["-n", "counted", "get", "pdb", "web", "-o", "jsonpath={.status.expectedPods}/{.status.currentHealthy}/{.status.desiredHealthy}/{.status.disruptionsAllowed} {.status.conditions[0].reason}"]);
        if b == "2/0/1/0 InsufficientPods" {
            b
        } else {
            String::new()
        }
    });
    assert_eq!(budget, "2/0/1/0 InsufficientPods");
    server.stop();
}
