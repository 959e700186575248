//! CustomResourceDefinitions served live, driven with kubectl: a definition applied becomes
//! `Established` and discoverable (`api-resources`, short names), its objects are served in
//! every served version through the generic registry, `kubectl delete namespace` removes the
//! custom objects in it with everything else, and deleting the definition removes its objects.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::{Server, poll};

const DEFINITION: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec: {type: string, pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'}
              image: {type: string}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
          status:
            type: object
            properties:
              lastRun: {type: string}
              replicas: {type: integer}
              selector: {type: string}
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
  - name: v1beta1
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
";

const OBJECTS: &str = "apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: nightly, namespace: team}
spec: {cronSpec: '0 3 * * *', image: backup:1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {a: b}
---
apiVersion: stable.example.com/v1beta1
kind: CronTab
metadata: {name: hourly, namespace: default}
spec: {cronSpec: '0 * * * *'}
";

/// Applies the definition and waits until it is established.
fn define(k: &Kubectl, definition: &std::path::Path) {
    k.ok(&["apply", "-f", definition.to_str().unwrap()]);
    k.ok(&[
        "wait",
        "--for=condition=established",
        "--timeout=30s",
        "crd/crontabs.stable.example.com",
    ]);
}

#[test]
fn a_definition_serves_its_kind_until_deleted_and_namespaces_take_its_objects_along() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let (definition, objects) = (dir.path().join("crd.yaml"), dir.path().join("objects.yaml"));
    std::fs::write(&definition, DEFINITION).unwrap();
    std::fs::write(&objects, OBJECTS).unwrap();

    define(&k, &definition);
    let resources = k.ok(&[
        "api-resources",
        "--api-group=stable.example.com",
        "--no-headers",
    ]);
    let columns: Vec<&str> = resources.split_whitespace().collect();
    assert_eq!(
        columns,
        ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"],
        "{resources}"
    );
    assert_eq!(
        k.jsonpath(
            &["crd", "crontabs.stable.example.com"],
            "{.status.storedVersions} {.spec.names.listKind} {.metadata.finalizers[0]}"
        ),
        "[\"v1\"] CronTabList customresourcecleanup.apiextensions.k8s.io"
    );

    k.ok(&["apply", "-f", objects.to_str().unwrap()]);
    // An unknown field: refused by kubectl's default (strict) validation, dropped with a
    // warning when asked to warn.
    let bogus = dir.path().join("bogus.yaml");
    std::fs::write(&bogus, "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly, namespace: team}\nspec: {cronSpec: '0 3 * * *', image: 'backup:1', bogus: dropped}\n").unwrap();
    let refused = k.fails(&["apply", "-f", bogus.to_str().unwrap()]);
    assert!(
        refused.contains("strict decoding error: unknown field \"spec.bogus\""),
        "{refused}"
    );
    let warned = k.run(&["apply", "--validate=warn", "-f", bogus.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(
        warned.status.success() && stderr.contains("Warning: unknown field \"spec.bogus\""),
        "{stderr}"
    );
    // Pruned (the unknown `bogus`) and defaulted (`replicas`) by the v1 schema.
    assert_eq!(
        k.jsonpath(&["ct", "nightly", "-n", "team"], "{.apiVersion} {.spec}"),
        "stable.example.com/v1 {\"cronSpec\":\"0 3 * * *\",\"image\":\"backup:1\",\"replicas\":1}"
    );
    // Printed with the version's columns.
    let table = k.ok(&["get", "ct", "nightly", "-n", "team"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SPEC", "REPLICAS", "AGE"], "{table}");
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("nightly   0 3 * * *   1 "),
        "{table}"
    );
    // Explained from its schema.
    let explained = k.ok(&["explain", "crontab.spec"]);
    assert!(
        explained.contains("cronSpec\t<string>") && explained.contains("replicas\t<integer>"),
        "{explained}"
    );
    // Scaled through its scale subresource.
    k.ok(&["scale", "ct", "nightly", "-n", "team", "--replicas=3"]);
    assert_eq!(
        k.jsonpath(&["ct", "nightly", "-n", "team"], "{.spec.replicas}"),
        "3"
    );
    let scale: serde_json::Value = serde_json::from_str(&k.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/namespaces/team/crontabs/nightly/scale",
    ]))
    .unwrap();
    assert_eq!(
        (scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()),
        (Some("Scale"), Some(3))
    );
    // And validated by it (kubectl renders the Status' causes as a list).
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: broken}\nspec: {replicas: 20, image: x}\n").unwrap();
    let refused = k.fails(&["apply", "-f", broken.to_str().unwrap()]);
    assert!(
        refused.contains("The CronTab \"broken\" is invalid")
            && refused.contains("spec.cronSpec: Required value")
            && refused.contains("spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"),
        "{refused}"
    );
    // Stored once, read in any served version.
    assert_eq!(
        k.jsonpath(
            &[
                "crontabs.v1beta1.stable.example.com",
                "nightly",
                "-n",
                "team"
            ],
            "{.apiVersion}"
        ),
        "stable.example.com/v1beta1"
    );
    let listed = k.ok(&[
        "get",
        "ct",
        "-A",
        "--no-headers",
        "-o",
        "custom-columns=NS:.metadata.namespace,NAME:.metadata.name",
    ]);
    assert_eq!(
        listed.split_whitespace().collect::<Vec<_>>(),
        ["default", "hourly", "team", "nightly"]
    );
    // A status written through the main resource is ignored (the status subresource owns it).
    k.ok(&[
        "patch",
        "ct",
        "nightly",
        "-n",
        "team",
        "--type=merge",
        "-p",
        "{\"status\":{\"lastRun\":\"never\"}}",
    ]);
    assert_eq!(
        k.jsonpath(&["ct", "nightly", "-n", "team"], "{.status}"),
        ""
    );

    // The namespace takes its custom objects along.
    k.ok(&["delete", "namespace", "team", "--timeout=60s"]);
    assert_eq!(
        k.ok(&["get", "ct", "-A", "--no-headers", "-o", "name"])
            .trim(),
        "crontab.stable.example.com/hourly"
    );

    // Deleting the definition removes its objects, and the kind is no longer served.
    k.ok(&[
        "delete",
        "crd",
        "crontabs.stable.example.com",
        "--timeout=60s",
    ]);
    let gone = poll(|| {
        let out = k.run(&["get", "crontabs.stable.example.com"]);
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        if text.contains("the server doesn't have a resource type")
            || text.contains("could not find the requested resource")
        {
            text
        } else {
            String::new()
        }
    });
    assert!(!gone.is_empty(), "the kind is still served");
    define(&k, &definition);
    let left = poll(|| {
        let out = k.run(&["get", "ct", "-A", "--no-headers", "-o", "name"]);
        if out.status.success() {
            format!("[{}]", String::from_utf8_lossy(&out.stdout).trim())
        } else {
            String::new()
        }
    });
    assert_eq!(left, "[]", "the objects outlived their definition");
    server.stop();
}
