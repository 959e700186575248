//! End to end with the real kubectl (the versioned binaries, called directly so the client
//! cannot shift under the test; KUBECTL-WIRE §0): CRUD, Tables, selectors, paging, watch,
//! scale, wait and upstream's error messages, against `gantry server` on its embedded store.
//! The same scenario runs with kubectl 1.33 and 1.32 (version skew).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::kubectl::Kubectl;
use std::process::Stdio;
use std::time::Duration;

const OBJECTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: e2e
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: e2e, labels: {app: web, tier: front}}
data: {a: "1", b: "2"}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: e2e}
type: Opaque
stringData: {t: x}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: e2e, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: busybox}]
"#;

fn header(table: &str) -> Vec<&str> {
    table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect()
}

/// Which store the server under test runs on.
enum Backend {
    Embedded,
    Etcd(gantry_testkit::etcd::EtcdServer),
}

fn scenario(minor: u32, backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let server = match &backend {
        Backend::Embedded => Server::start(dir.path(), &[]),
        Backend::Etcd(etcd) => Server::start(dir.path(), &["--etcd-servers", etcd.endpoint()]),
    };
    let k = Kubectl::new(minor, &server.kubeconfig);

    let version = k.ok(&["version"]);
    assert!(version.contains("Server Version: v1.33"), "{version}");
    let resources = k.ok(&["api-resources"]);
    for expected in [
        "pods",
        "deployments",
        "customresourcedefinitions",
        "horizontalpodautoscalers",
    ] {
        assert!(
            resources.lines().any(|l| l.starts_with(expected)),
            "{expected} missing:\n{resources}"
        );
    }

    // Typed create commands: kubectl 1.32+ sends these bodies as protobuf.
    assert!(
        k.ok(&["create", "namespace", "typed"])
            .contains("namespace/typed created")
    );
    k.ok(&[
        "-n",
        "typed",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ]);
    k.ok(&[
        "-n",
        "typed",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=p=q",
    ]);
    k.ok(&["-n", "typed", "create", "serviceaccount", "robot"]);
    k.ok(&[
        "-n",
        "typed",
        "create",
        "role",
        "reader",
        "--verb=get,list",
        "--resource=pods",
    ]);
    let groups = k.ok(&[
        "-n",
        "typed",
        "get",
        "role",
        "reader",
        "-o",
        "jsonpath={.rules[0].apiGroups}",
    ]);
    assert_eq!(
        groups, r#"[""]"#,
        "the core group survives the protobuf body"
    );
    k.ok(&[
        "-n",
        "typed",
        "create",
        "rolebinding",
        "rb",
        "--role=reader",
        "--serviceaccount=typed:robot",
    ]);
    k.ok(&[
        "-n",
        "typed",
        "create",
        "deployment",
        "d",
        "--image=busybox",
        "--replicas=2",
        "--port=80",
    ]);
    let replicas = k.ok(&[
        "-n",
        "typed",
        "get",
        "deploy",
        "d",
        "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}",
    ]);
    assert_eq!(replicas, "2 80");
    k.ok(&[
        "-n",
        "typed",
        "expose",
        "deployment",
        "d",
        "--port=81",
        "--target-port=80",
    ]);
    let port = k.ok(&[
        "-n",
        "typed",
        "get",
        "svc",
        "d",
        "-o",
        "jsonpath={.spec.ports[0].targetPort}",
    ]);
    assert_eq!(port, "80");
    let data = k.ok(&["-n", "typed", "get", "cm", "c", "-o", "jsonpath={.data.a}"]);
    assert_eq!(data, "b");
    let secret = k.ok(&[
        "-n",
        "typed",
        "get",
        "secret",
        "s",
        "-o",
        "jsonpath={.data.p}",
    ]);
    assert_eq!(secret, "cQ==");

    let manifest = dir.path().join("objects.yaml");
    std::fs::write(&manifest, OBJECTS).unwrap();
    let created = k.ok(&["create", "-f", manifest.to_str().unwrap()]);
    assert!(
        created.contains("namespace/e2e created")
            && created.contains("deployment.apps/web created"),
        "{created}"
    );

    // Client-side apply over objects made by create: a strategic merge patch each time.
    let applied = k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    assert!(
        applied.contains("deployment.apps/web configured"),
        "{applied}"
    );
    let reapplied = k.ok(&["apply", "-f", manifest.to_str().unwrap()]);
    assert!(
        reapplied.contains("deployment.apps/web unchanged"),
        "{reapplied}"
    );
    k.ok(&["-n", "e2e", "set", "image", "deploy/web", "main=busybox:2"]);
    let image = k.ok(&[
        "-n",
        "e2e",
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "busybox:2");

    assert_eq!(
        header(&k.ok(&["-n", "e2e", "get", "configmaps"])),
        ["NAME", "DATA", "AGE"]
    );
    assert_eq!(
        header(&k.ok(&["-n", "e2e", "get", "secrets"])),
        ["NAME", "TYPE", "DATA", "AGE"]
    );
    assert_eq!(
        header(&k.ok(&["-n", "e2e", "get", "deploy"])),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    let wide = k.ok(&["-n", "e2e", "get", "deploy", "-o", "wide"]);
    assert_eq!(header(&wide)[5..], ["CONTAINERS", "IMAGES", "SELECTOR"]);
    assert!(
        wide.contains("busybox") && wide.contains("app=web"),
        "{wide}"
    );
    assert!(k.ok(&["get", "ns"]).contains("kube-system"));
    let kubernetes = k.ok(&["get", "svc", "kubernetes"]);
    assert!(
        kubernetes.contains("10.43.0.1") && kubernetes.contains("443/TCP"),
        "{kubernetes}"
    );

    let yaml = k.ok(&["-n", "e2e", "get", "cm", "settings", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: ConfigMap") && yaml.contains("resourceVersion:"),
        "{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["-n", "e2e", "get", "cm", "settings", "-o", "json"])).unwrap();
    assert_eq!(json["data"]["b"], "2");
    assert_eq!(
        k.ok(&["-n", "e2e", "get", "cm", "-o", "name"]).trim(),
        "configmap/settings"
    );
    let all = k.ok(&["get", "cm", "-A"]);
    assert!(all.starts_with("NAMESPACE") && all.contains("e2e"), "{all}");
    assert_eq!(
        k.ok(&["-n", "e2e", "get", "cm", "-l", "tier=front", "-o", "name"])
            .trim(),
        "configmap/settings"
    );
    assert_eq!(
        k.ok(&["-n", "e2e", "get", "cm", "-l", "tier!=front", "-o", "name"])
            .trim(),
        ""
    );
    assert_eq!(
        k.ok(&[
            "-n",
            "e2e",
            "get",
            "all",
            "--field-selector",
            "metadata.name=web",
            "-o",
            "name"
        ])
        .trim(),
        "deployment.apps/web"
    );

    for i in 0..5 {
        let body = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"page-{i}\",\"namespace\":\"e2e\"}}}}"
        );
        let mut child = k
            .command(&["-n", "e2e", "apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), body.as_bytes()).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
    }
    let paged = k.ok(&["-n", "e2e", "get", "cm", "--chunk-size=2", "-o", "name"]);
    assert_eq!(
        paged
            .lines()
            .filter(|l| l.starts_with("configmap/page-"))
            .count(),
        5,
        "{paged}"
    );
    let sorted = k.ok(&[
        "-n",
        "e2e",
        "get",
        "cm",
        "--sort-by=.metadata.name",
        "-o",
        "name",
    ]);
    let names: Vec<&str> = sorted.lines().collect();
    let mut expected = names.clone();
    expected.sort_unstable();
    assert_eq!(names, expected);

    k.ok(&["-n", "e2e", "label", "cm", "settings", "stage=blue"]);
    k.ok(&["-n", "e2e", "annotate", "cm", "settings", "note=hello"]);
    let labelled = k.ok(&[
        "-n",
        "e2e",
        "get",
        "cm",
        "settings",
        "-o",
        "jsonpath={.metadata.labels.stage} {.metadata.annotations.note}",
    ]);
    assert_eq!(labelled, "blue hello");

    k.ok(&["-n", "e2e", "scale", "deployment", "web", "--replicas=4"]);
    assert_eq!(
        k.ok(&[
            "-n",
            "e2e",
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "4"
    );

    // A controller would set this condition; the test plays that role through status.
    k.ok(&[
        "-n",
        "e2e",
        "patch",
        "deploy",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"conditions":[{"type":"Available","status":"True","reason":"Test"}]}}"#,
    ]);
    k.ok(&[
        "-n",
        "e2e",
        "wait",
        "--for=condition=Available",
        "deploy/web",
        "--timeout=30s",
    ]);

    // Watch: ADDED for the existing object, MODIFIED and DELETED as they happen.
    let mut watch = k
        .command(&[
            "-n",
            "e2e",
            "get",
            "cm",
            "settings",
            "-w",
            "--output-watch-events",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("EVENT") {
                continue;
            }
            let _ = tx.send(line.split_whitespace().next().unwrap_or("").to_owned());
        }
    });
    // Bounded waits (a liveness limit, not a timing assertion).
    let next = || {
        lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a watch event")
    };
    let mut events = vec![next()]; // the watch is established once the initial ADDED arrives
    k.ok(&[
        "-n",
        "e2e",
        "label",
        "cm",
        "settings",
        "stage=green",
        "--overwrite",
    ]);
    let deleted = k.ok(&["-n", "e2e", "delete", "cm", "settings"]);
    assert!(
        deleted.contains(r#"configmap "settings" deleted"#),
        "{deleted}"
    );
    events.push(next());
    events.push(next());
    let _ = watch.kill();
    let _ = watch.wait();
    let watched = events.join(" ");
    assert_eq!(events, ["ADDED", "MODIFIED", "DELETED"], "{watched}");

    let raw = k.ok(&["get", "--raw", "/apis/apps/v1"]);
    assert!(raw.contains(r#""kind":"APIResourceList""#), "{raw}");

    // Upstream's messages for the common mistakes.
    let missing = k.fails(&["-n", "e2e", "get", "cm", "nope"]);
    assert!(
        missing.contains(r#"Error from server (NotFound): configmaps "nope" not found"#),
        "{missing}"
    );
    let no_ns = k.fails(&[
        "-n",
        "absent",
        "create",
        "-f",
        manifest.to_str().unwrap(),
        "--validate=false",
    ]);
    assert!(
        no_ns.contains("AlreadyExists")
            || no_ns.contains("namespaces \"absent\" not found")
            || no_ns.contains("does not match"),
        "{no_ns}"
    );
    let selector = k.fails(&["-n", "e2e", "get", "cm", "--field-selector", "data.a=1"]);
    assert!(
        selector.contains("field label not supported: data.a"),
        "{selector}"
    );
    let dup = k.fails(&["create", "-f", manifest.to_str().unwrap()]);
    assert!(dup.contains(r#"namespaces "e2e" already exists"#), "{dup}");

    server.stop();
}

#[test]
fn kubectl_1_33_drives_crud_tables_selectors_paging_watch_and_scale() {
    scenario(33, Backend::Embedded);
}

#[test]
fn kubectl_1_32_passes_the_same_scenario() {
    scenario(32, Backend::Embedded);
}

#[test]
fn the_same_scenario_passes_with_the_api_server_on_a_real_etcd() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let etcd = runtime
        .block_on(gantry_testkit::etcd::EtcdServer::start())
        .expect("start etcd");
    scenario(33, Backend::Etcd(etcd));
}
