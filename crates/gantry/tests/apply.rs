//! `kubectl apply` both ways, as users run it (issue 7): client-side apply creates, reports
//! `unchanged` on a second run and `configured` after an edit that merges lists by key;
//! `kubectl diff` shows exactly the edit; server-side apply records field managers, refuses
//! to change another manager's field (409 naming it) unless forced, removes what its applier
//! stops applying, and takes over objects kubectl applied client-side; `explain` and strict
//! validation work from the built-in kinds' schemas; the everyday commands
//! (`create deployment` with its protobuf body, `set image`, `rollout restart`) leave the
//! fields they change to their own managers.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::kubectl::Kubectl;
use serde_json::Value;

const MANIFEST: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: busybox:1
        env: [{name: MODE, value: fast}, {name: LEVEL, value: '1'}]
        ports: [{containerPort: 80, name: http}, {containerPort: 443, name: https}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {color: blue, size: large}
";

fn object(k: &Kubectl, what: &[&str]) -> Value {
    let mut args = vec!["-n", "shop", "get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&k.ok(&args)).unwrap()
}

/// The managers of an object, as `manager/operation[/subresource]`.
fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut text = format!(
                "{}/{}",
                e["manager"].as_str().unwrap(),
                e["operation"].as_str().unwrap()
            );
            if let Some(sub) = e["subresource"].as_str() {
                text = format!("{text}/{sub}");
            }
            text
        })
        .collect()
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn scenario(minor: u32) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let k = Kubectl::new(minor, &server.kubeconfig);
    k.ok(&["create", "namespace", "shop"]);
    let manifest = write(dir.path(), "app.yaml", MANIFEST);

    // Client-side apply: created, then unchanged.
    let created = k.ok(&["apply", "-f", &manifest]);
    for line in [
        "deployment.apps/web created",
        "service/web created",
        "configmap/settings created",
    ] {
        assert!(created.contains(line), "{created}");
    }
    let again = k.ok(&["apply", "-f", &manifest]);
    for line in [
        "deployment.apps/web unchanged",
        "service/web unchanged",
        "configmap/settings unchanged",
    ] {
        assert!(again.contains(line), "{again}");
    }
    assert_eq!(
        managers(&object(&k, &["deploy", "web"])),
        ["kubectl-client-side-apply/Update"]
    );

    // An edit: one port dropped, one env entry changed, a key added — merged by key.
    let edited = MANIFEST
        .replace(", {containerPort: 443, name: https}", "")
        .replace("{name: LEVEL, value: '1'}", "{name: LEVEL, value: '2'}")
        .replace("size: large}", "size: large, shape: round}");
    let edited_path = write(dir.path(), "edited.yaml", &edited);
    let configured = k.ok(&["apply", "-f", &edited_path]);
    for line in [
        "deployment.apps/web configured",
        "service/web unchanged",
        "configmap/settings configured",
    ] {
        assert!(configured.contains(line), "{configured}");
    }
    let web = object(&k, &["deploy", "web"]);
    let main = &web["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(main["ports"].as_array().unwrap().len(), 1, "{main}");
    assert_eq!(main["ports"][0]["containerPort"], 80);
    assert_eq!(
        main["env"],
        serde_json::json!([{"name": "MODE", "value": "fast"}, {"name": "LEVEL", "value": "2"}])
    );

    // `diff` shows the pending edit and nothing else (the generation moves with it).
    let next = write(
        dir.path(),
        "next.yaml",
        &edited.replace("busybox:1", "busybox:2"),
    );
    let diff = k.run(&["diff", "-f", &next]);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff exits 1 when there are changes"
    );
    let text = String::from_utf8_lossy(&diff.stdout);
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert!(
        changed
            .iter()
            .any(|l| l.trim() == "-        image: busybox:1".trim()),
        "{text}"
    );
    assert!(
        changed
            .iter()
            .any(|l| l.trim() == "+        image: busybox:2".trim()),
        "{text}"
    );
    assert!(
        changed
            .iter()
            .all(|l| l.contains("image:") || l.contains("generation:")),
        "{text}"
    );
    assert_eq!(
        k.jsonpath(
            &["-n", "shop", "deploy", "web"],
            "{.spec.template.spec.containers[0].image}"
        ),
        "busybox:1"
    );

    // Server-side apply by a second manager: a value kubectl owns is a conflict.
    let rival = write(
        dir.path(),
        "rival.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {color: red}\n",
    );
    let refused = k.fails(&[
        "apply",
        "--server-side",
        "--field-manager=ops",
        "-f",
        &rival,
    ]);
    assert!(
        refused.contains("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.color"),
        "{refused}"
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=ops",
        "--force-conflicts",
        "-f",
        &rival,
    ]);
    let settings = object(&k, &["configmap", "settings"]);
    assert_eq!(settings["data"]["color"], "red");
    assert!(
        managers(&settings).contains(&"ops/Apply".to_owned()),
        "{settings}"
    );
    // A field its applier stops applying goes when nobody else owns it.
    let shared = write(
        dir.path(),
        "shared.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {color: red, extra: x}\n",
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=ops",
        "-f",
        &shared,
    ]);
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=ops",
        "-f",
        &rival,
    ]);
    let settings = object(&k, &["configmap", "settings"]);
    assert!(settings["data"].get("extra").is_none(), "{settings}");

    // kubectl moves its client-side applied objects to server-side apply.
    // (The Deployment alone: the ConfigMap's `color` is `ops`'s now.)
    let deployment = edited.split("---").next().unwrap();
    let deployment_path = write(dir.path(), "deployment.yaml", deployment);
    let ssa = k.ok(&["apply", "--server-side", "-f", &deployment_path]);
    assert!(
        ssa.contains("deployment.apps/web serverside-applied"),
        "{ssa}"
    );
    let web = object(&k, &["deploy", "web"]);
    assert!(
        managers(&web).contains(&"kubectl/Apply".to_owned()),
        "{:?}",
        managers(&web)
    );
    // A scale by another client makes `replicas` theirs: applying another count conflicts.
    k.ok(&["-n", "shop", "scale", "deploy/web", "--replicas=3"]);
    let replicas = write(
        dir.path(),
        "replicas.yaml",
        &deployment.replace("replicas: 2", "replicas: 4"),
    );
    let refused = k.fails(&["apply", "--server-side", "-f", &replicas]);
    // (kubectl's user agent, the manager of its scale, is its binary's name: `kubectl.1.33`.)
    assert!(
        refused.contains("Apply failed with 1 conflict: conflict with \"kubectl")
            && refused.contains("with subresource \"scale\" using apps/v1: .spec.replicas"),
        "{refused}"
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &replicas,
    ]);
    assert_eq!(
        k.jsonpath(&["-n", "shop", "deploy", "web"], "{.spec.replicas}"),
        "4"
    );

    // Built-in kinds are explained from their schemas, and their unknown fields refused by
    // kubectl's default strict validation, which it leaves to the server.
    let explained = k.ok(&["explain", "deployment.spec.strategy"]);
    assert!(
        explained.contains("KIND:       Deployment")
            && explained.contains("rollingUpdate\t<RollingUpdateDeployment>"),
        "{explained}"
    );
    let bogus = write(
        dir.path(),
        "bogus.yaml",
        &deployment.replace("replicas: 2", "replicas: 2\n  bogus: 1"),
    );
    let refused = k.fails(&["apply", "-f", &bogus]);
    assert!(
        refused.contains(
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.bogus\""
        ),
        "{refused}"
    );

    // The everyday commands.
    k.ok(&[
        "-n",
        "shop",
        "create",
        "deployment",
        "cache",
        "--image=busybox:1",
    ]);
    k.ok(&[
        "-n",
        "shop",
        "create",
        "configmap",
        "flags",
        "--from-literal=on=yes",
    ]);
    assert_eq!(
        k.jsonpath(&["-n", "shop", "configmap", "flags"], "{.data.on}"),
        "yes"
    );
    // More of kubectl's typed commands, whose bodies kubectl 1.32+ sends as protobuf.
    k.ok(&[
        "-n",
        "shop",
        "autoscale",
        "deployment",
        "cache",
        "--max=5",
        "--cpu-percent=80",
    ]);
    assert_eq!(
        k.jsonpath(
            &["-n", "shop", "hpa", "cache"],
            "{.spec.maxReplicas} {.spec.scaleTargetRef.name}"
        ),
        "5 cache"
    );
    k.ok(&[
        "-n",
        "shop",
        "create",
        "quota",
        "q",
        "--hard=pods=3,requests.cpu=2",
    ]);
    k.ok(&[
        "-n",
        "shop",
        "create",
        "pdb",
        "p",
        "--selector=app=web",
        "--min-available=50%",
    ]);
    k.ok(&[
        "-n",
        "shop",
        "create",
        "ingress",
        "i",
        "--rule=shop.example/cart*=web:80,tls=cert",
    ]);
    assert_eq!(
        k.jsonpath(
            &["-n", "shop", "quota", "q"],
            "{.spec.hard.pods} {.spec.hard.requests\\.cpu}"
        ),
        "3 2"
    );
    assert_eq!(
        k.jsonpath(
            &["-n", "shop", "pdb", "p"],
            "{.spec.minAvailable} {.spec.selector.matchLabels.app}"
        ),
        "50% web"
    );
    assert_eq!(
        k.jsonpath(
            &["-n", "shop", "ingress", "i"],
            "{.spec.rules[0].host} {.spec.rules[0].http.paths[0].pathType} {.spec.rules[0].http.paths[0].backend.service.port.number} {.spec.tls[0].secretName}"
        ),
        "shop.example Prefix 80 cert"
    );
    k.ok(&[
        "-n",
        "shop",
        "set",
        "image",
        "deploy/cache",
        "busybox=busybox:3",
    ]);
    k.ok(&["-n", "shop", "rollout", "restart", "deploy/cache"]);
    let cache = object(&k, &["deploy", "cache"]);
    assert_eq!(
        cache["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:3"
    );
    assert!(
        cache["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{cache}"
    );
    let owners = managers(&cache);
    for manager in [
        "kubectl-create/Update",
        "kubectl-set/Update",
        "kubectl-rollout/Update",
    ] {
        assert!(owners.contains(&manager.to_owned()), "{owners:?}");
    }
}

#[test]
fn kubectl_1_33_applies_client_and_server_side() {
    scenario(33);
}

#[test]
fn kubectl_1_32_applies_client_and_server_side() {
    scenario(32);
}
