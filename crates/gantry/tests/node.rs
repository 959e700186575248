//! End to end on a real node: `gantry server` starts its own containerd (runc, the CNI bridge
//! plugin), imports the images `scripts/images` built, registers its Node and runs pods that
//! real kubectl 1.33 applies — init containers, shared emptyDir, ConfigMap volume, Secret env,
//! crash-loop back-off, terminal phases, pull failures, config errors, graceful deletion, and
//! a node restart that leaves healthy containers alone.
//!
//! Pods are bound with `spec.nodeName` until the scheduler lands.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::agent::{Agent, NodeSpec};
use common::kubectl::Kubectl;
use common::node::{client, start_node};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Polls the pod until `done` holds for its JSON (up to `secs`); shows the pod on failure.
async fn wait_pod(
    pods: &Api<Pod>,
    name: &str,
    what: &str,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let pod = pods.get_opt(name).await.unwrap();
        let json = serde_json::to_value(&pod).unwrap();
        if done(&json) {
            return json;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "pod {name} never reached {what}; it is:\n{}",
                serde_json::to_string_pretty(&json["status"]).unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls the pod until it is in `phase`.
async fn wait_phase(pods: &Api<Pod>, name: &str, phase: &str, secs: u64) -> Value {
    wait_pod(pods, name, phase, secs, |p| p["status"]["phase"] == phase).await
}

fn waiting_reason(pod: &Value) -> &str {
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        .as_str()
        .unwrap_or("")
}

/// A plain HTTP GET from this host into the pod network.
fn http_get(ip: &str, port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect_timeout(
        &format!("{ip}:{port}").parse().ok()?,
        Duration::from_secs(2),
    )
    .ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    Some(reply)
}

fn manifest(node: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: content}}
data: {{greeting: hello-from-configmap}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds}}
stringData: {{token: s3cret}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, labels: {{app: web}}}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: init
    image: busybox:1.36
    command: [sh, -c, "echo init > /www/init"]
    volumeMounts: [{{name: www, mountPath: /www}}]
  - name: init-2
    image: busybox:1.36
    command: [sh, -c, "test -f /www/init && echo $(cat /www/init)-done > /www/init"]
    volumeMounts: [{{name: www, mountPath: /www}}]
  containers:
  - name: writer
    image: busybox:1.36
    command: [sh, -c, "echo \"$(cat /config/greeting) $TOKEN $(cat /www/init)\" > /www/index.html; echo wrote the page; trap 'exit 0' TERM; while true; do sleep 1; done"]
    env: [{{name: TOKEN, valueFrom: {{secretKeyRef: {{name: creds, key: token}}}}}}]
    volumeMounts: [{{name: www, mountPath: /www}}, {{name: config, mountPath: /config}}]
  - name: web
    image: busybox:1.36
    command: [httpd, -f, -p, "8080", -h, /www]
    volumeMounts: [{{name: www, mountPath: /www}}]
  volumes:
  - {{name: www, emptyDir: {{}}}}
  - {{name: config, configMap: {{name: content}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: crash}}
spec:
  nodeName: {node}
  containers: [{{name: c, image: busybox:1.36, command: [sh, -c, "echo crashing; exit 1"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: done}}
spec:
  nodeName: {node}
  restartPolicy: Never
  containers: [{{name: c, image: busybox:1.36, command: [sh, -c, "exit 0"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: fail}}
spec:
  nodeName: {node}
  restartPolicy: Never
  containers: [{{name: c, image: busybox:1.36, command: [sh, -c, "exit 3"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: missing-image}}
spec:
  nodeName: {node}
  containers: [{{name: c, image: "127.0.0.1:1/missing:1"}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: bad-config}}
spec:
  nodeName: {node}
  containers:
  - name: c
    image: busybox:1.36
    env: [{{name: X, valueFrom: {{secretKeyRef: {{name: absent, key: k}}}}}}]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_as_real_containers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-1", "gte2e1", "10.42.101.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let client = client(&server).await;

    let node = Api::<Node>::all(client.clone())
        .get("e2e-node-1")
        .await
        .unwrap();
    let ready = node
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("True", Some("KubeletReady"))
    );
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first_renewal = leases
        .get("e2e-node-1")
        .await
        .unwrap()
        .spec
        .unwrap()
        .renew_time
        .unwrap();
    // The server gives its node the role once it has registered (a node may not).
    let nodes = common::poll_for(Duration::from_secs(30), || {
        let nodes = k.ok(&["get", "nodes"]);
        if nodes.contains("control-plane") {
            nodes
        } else {
            String::new()
        }
    });
    assert!(
        nodes.contains("e2e-node-1") && nodes.contains("Ready") && nodes.contains("control-plane"),
        "{nodes}"
    );

    let file = dir.path().join("pods.yaml");
    std::fs::write(&file, manifest("e2e-node-1")).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // Init container, shared emptyDir, ConfigMap volume and Secret env, seen over the pod network.
    let web = wait_pod(&pods, "web", "Running and Ready", 60, |p| {
        p["status"]["phase"] == "Running"
            && p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    })
    .await;
    let ip = web["status"]["podIP"].as_str().unwrap().to_owned();
    assert!(
        ip.starts_with("10.42.101."),
        "pod IP {ip} is outside the node's CIDR"
    );
    // The init containers ran in order (the second needs the first's file), then the app.
    for i in 0..2 {
        assert_eq!(
            web["status"]["initContainerStatuses"][i]["state"]["terminated"]["reason"],
            "Completed"
        );
    }
    let mut page = String::new();
    for _ in 0..40 {
        page = http_get(&ip, 8080, "/index.html").unwrap_or_default();
        if page.contains("hello-from-configmap") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        page.contains("hello-from-configmap s3cret init-done"),
        "the pod served: {page}"
    );
    let wide = k.ok(&["get", "pod", "web", "-o", "wide"]);
    assert!(
        wide.contains(&ip) && wide.contains("2/2") && wide.contains("e2e-node-1"),
        "{wide}"
    );

    // Logs through the API server, from the node's CRI log files.
    let logs = k.ok(&["logs", "web", "-c", "writer"]);
    assert_eq!(logs, "wrote the page\n");
    let logs = k.ok(&["logs", "web", "-c", "writer", "--timestamps"]);
    let (time, line) = logs.split_once(' ').unwrap();
    assert!(time.starts_with("20") && time.ends_with('Z'), "{logs}");
    assert_eq!(line, "wrote the page\n");
    let error = k.fails(&["logs", "web", "-c", "nope"]);
    assert!(
        error.contains("container nope is not valid for pod web"),
        "{error}"
    );

    let done = wait_phase(&pods, "done", "Succeeded", 60).await;
    assert_eq!(
        done["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    let fail = wait_phase(&pods, "fail", "Failed", 60).await;
    assert_eq!(
        fail["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        3
    );
    assert_eq!(
        fail["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Error"
    );

    let crash = wait_pod(&pods, "crash", "CrashLoopBackOff", 60, |p| {
        waiting_reason(p) == "CrashLoopBackOff"
            && p["status"]["containerStatuses"][0]["restartCount"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(
        crash["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        1
    );
    let message = crash["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("back-off 10s restarting failed container=c pod=crash_default("),
        "{message}"
    );
    let previous = k.ok(&["logs", "crash", "--previous"]);
    assert_eq!(previous, "crashing\n");
    // Following a container that exits ends with it.
    let followed = k.ok(&["logs", "-f", "crash"]);
    assert_eq!(followed, "crashing\n");
    let table = k.ok(&["get", "pod", "crash"]);
    assert!(table.contains("CrashLoopBackOff"), "{table}");

    wait_pod(&pods, "missing-image", "ImagePullBackOff", 60, |p| {
        waiting_reason(p) == "ImagePullBackOff"
    })
    .await;
    let config = wait_pod(&pods, "bad-config", "CreateContainerConfigError", 60, |p| {
        waiting_reason(p) == "CreateContainerConfigError"
    })
    .await;
    assert_eq!(
        config["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "secret \"absent\" not found"
    );

    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=crash",
    ]);
    assert!(
        events.contains("BackOff") && events.contains("Started"),
        "{events}"
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=missing-image",
    ]);
    assert!(
        events.contains("Pulling") && events.contains("Failed"),
        "{events}"
    );

    // Graceful deletion: the containers stop (the writer traps SIGTERM) and the pod goes.
    let started = std::time::Instant::now();
    k.ok(&["delete", "pod", "web"]);
    assert!(pods.get_opt("web").await.unwrap().is_none());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "deletion took {:?}",
        started.elapsed()
    );
    assert!(
        http_get(&ip, 8080, "/index.html").is_none(),
        "the pod still answers after deletion"
    );

    // The crash-loop back-off grows: 10 s after the first restarts, then 20 s.
    wait_pod(&pods, "crash", "a longer back-off", 60, |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("back-off 20s"))
    })
    .await;

    // The Lease is renewed every 10 s.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let renewal = leases
        .get("e2e-node-1")
        .await
        .unwrap()
        .spec
        .unwrap()
        .renew_time
        .unwrap();
    assert!(renewal.0 > first_renewal.0, "the lease was not renewed");

    k.ok(&["delete", "pods", "--all", "--wait=true"]);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_healthy_containers_running() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-2", "gte2e2", "10.42.102.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("steady.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: steady}\nspec:\n  nodeName: e2e-node-2\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: busybox:1.36, command: [sh, -c, \"trap 'exit 0' TERM; while true; do sleep 1; done\"]}]\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");
    let before = wait_phase(&pods, "steady", "Running", 60).await;
    let id = before["status"]["containerStatuses"][0]["containerID"].clone();
    server.stop();

    let server = start_node(dir.path(), "e2e-node-2", "gte2e2", "10.42.102.0/24");
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");
    // Give the node a few sync rounds to (wrongly) restart anything.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = wait_phase(&pods, "steady", "Running", 30).await;
    let status = &after["status"]["containerStatuses"][0];
    assert_eq!(status["containerID"], id, "the container was replaced");
    assert_eq!(status["restartCount"], 0);
    assert!(status["state"]["running"].is_object());

    Kubectl::new(33, &server.kubeconfig).ok(&["delete", "pod", "steady"]);
    server.stop();
}

/// Runs kubectl under `script` so that it has a terminal (`-t`).
fn with_terminal(k: &Kubectl, args: &[&str]) -> std::process::Output {
    let mut line = format!("{}", k.binary.display());
    for arg in args {
        line.push_str(&format!(" '{arg}'"));
    }
    std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("KUBECONFIG", &k.kubeconfig)
        .env("HOME", k.home.path())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_attach_and_port_forward_reach_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-3", "gte2e3", "10.42.103.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("shell.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: shell}\nspec:\n  nodeName: e2e-node-3\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: web, image: busybox:1.36, command: [sh, -c, \"echo port-forwarded > /tmp/index.html; httpd -p 8080 -h /tmp; while read line; do echo attached: $line; done; sleep 3600\"], stdin: true}\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");
    wait_phase(&pods, "shell", "Running", 60).await;

    // Exit codes and stdin, without and with a terminal.
    let out = k.run(&[
        "exec",
        "shell",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err"));
    let mut child = k
        .command(&[
            "exec",
            "-i",
            "shell",
            "--",
            "sh",
            "-c",
            "read x; echo got $x",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got typed\n");
    let out = with_terminal(
        &k,
        &["exec", "-it", "shell", "--", "sh", "-c", "tty; exit 3"],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/dev/pts/"));

    // Attach: the main process reads what we send.
    let mut child = k
        .command(&["attach", "-i", "shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    let logs = (0..40).find_map(|_| {
        let logs = k.ok(&["logs", "shell"]);
        if logs.contains("attached: hello") {
            Some(logs)
        } else {
            std::thread::sleep(Duration::from_millis(250));
            None
        }
    });
    assert!(
        logs.is_some(),
        "the attached input never reached the container"
    );
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();

    // Port-forward from a local port to the container's httpd.
    let mut forward = k
        .command(&["port-forward", "pod/shell", "0:8080"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(forward.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    // "Forwarding from 127.0.0.1:<port> -> 8080"
    let port: u16 = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected port-forward output: {line}"));
    let page = http_get("127.0.0.1", port, "/index.html").unwrap_or_default();
    assert!(
        page.contains("port-forwarded"),
        "through the forward: {page}"
    );
    let _ = forward.kill();
    let _ = forward.wait();

    // The node's resource summary, through the API server's node proxy.
    let raw = k.ok(&[
        "get",
        "--raw",
        "/api/v1/nodes/e2e-node-3/proxy/stats/summary",
    ]);
    let summary: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(summary["node"]["nodeName"], "e2e-node-3");
    assert!(
        summary["node"]["memory"]["availableBytes"].as_u64() > Some(0),
        "{raw}"
    );
    let pod = summary["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["podRef"]["name"] == "shell")
        .unwrap_or_else(|| panic!("no stats for the pod: {raw}"));
    assert!(pod["memory"]["workingSetBytes"].as_u64() > Some(0), "{raw}");

    // An unknown container is refused with upstream's message.
    let error = k.fails(&["exec", "shell", "-c", "nope", "--", "true"]);
    assert!(
        error.contains("container nope is not valid for pod shell"),
        "{error}"
    );

    k.ok(&["delete", "pod", "shell"]);
    server.stop();
}

const PROBES: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: ready-later}
spec:
  nodeName: e2e-node-4
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "sleep 3; touch /tmp/ready; httpd -f -p 8080 -h /tmp"]
    readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
    livenessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 5, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: never-ready}
spec:
  nodeName: e2e-node-4
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sleep, "3600"]
    readinessProbe: {httpGet: {path: /healthz, port: 9999}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  nodeName: e2e-node-4
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "touch /tmp/alive; sleep 2; rm /tmp/alive; sleep 3600"]
    livenessProbe: {exec: {command: [test, -f, /tmp/alive]}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  nodeName: e2e-node-4
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 3600"]
    resources: {limits: {memory: 16Mi}}
"#;

fn hooks_manifest(host_dir: &Path) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: hooks}}
spec:
  nodeName: e2e-node-4
  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "while [ ! -f /tmp/post-start ]; do sleep 0.1; done; echo post-start ran; sleep 3600"]
    lifecycle:
      postStart: {{exec: {{command: [touch, /tmp/post-start]}}}}
      preStop: {{exec: {{command: [sh, -c, "echo stopped > /hooks/pre-stop"]}}}}
    volumeMounts: [{{name: hooks, mountPath: /hooks}}]
  volumes: [{{name: hooks, hostPath: {{path: {dir}, type: DirectoryOrCreate}}}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: bad-hook}}
spec:
  nodeName: e2e-node-4
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.36
    command: [sleep, "3600"]
    lifecycle:
      postStart: {{exec: {{command: [sh, -c, "exit 7"]}}}}
"#,
        dir = host_dir.display()
    )
}

fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_memory_limits_act_on_containers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-4", "gte2e4", "10.42.106.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let file = dir.path().join("probes.yaml");
    std::fs::write(&file, PROBES).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");

    // Running but not Ready until the readiness probe passes; then Ready, and the liveness
    // probe (TCP) keeps it running.
    let early = wait_phase(&pods, "ready-later", "Running", 60).await;
    assert!(!ready(&early), "Ready before its readiness probe passed");
    wait_pod(&pods, "ready-later", "Ready", 60, ready).await;

    let never = wait_pod(&pods, "never-ready", "a failed readiness probe", 60, |p| {
        p["status"]["phase"] == "Running"
    })
    .await;
    assert!(!ready(&never));
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=never-ready,reason=Unhealthy",
    ]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut events = events;
    while !events.contains("Readiness probe failed") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        events = k.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=never-ready",
        ]);
    }
    assert!(events.contains("Readiness probe failed"), "{events}");
    let condition = k.ok(&[
        "get",
        "pod",
        "never-ready",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}",
    ]);
    assert_eq!(condition, "ContainersNotReady");

    // A failing liveness probe restarts the container.
    wait_pod(&pods, "liveness", "a restart", 60, |p| {
        p["status"]["containerStatuses"][0]["restartCount"].as_u64() >= Some(1)
    })
    .await;
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=liveness",
    ]);
    assert!(
        events.contains("failed liveness probe, will be restarted"),
        "{events}"
    );

    // A memory limit below what the container takes: OOMKilled.
    let oom = wait_pod(&pods, "oom", "OOMKilled", 60, |p| {
        p["status"]["phase"] == "Failed"
    })
    .await;
    assert_eq!(
        oom["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "OOMKilled"
    );
    assert_eq!(oom["status"]["qosClass"], "Burstable");

    // postStart runs right after the start; preStop before the stop.
    let hooks = dir.path().join("hooks");
    let file = dir.path().join("hooks.yaml");
    std::fs::write(&file, hooks_manifest(&hooks)).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    wait_phase(&pods, "hooks", "Running", 60).await;
    let mut logs = String::new();
    for _ in 0..40 {
        logs = k.ok(&["logs", "hooks"]);
        if !logs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(logs, "post-start ran\n");
    k.ok(&["delete", "pod", "hooks"]);
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-stop")).unwrap(),
        "stopped\n"
    );
    wait_pod(&pods, "bad-hook", "a failed postStart hook", 60, |p| {
        p["status"]["containerStatuses"][0]["restartCount"].as_u64() >= Some(1)
    })
    .await;
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=bad-hook",
    ]);
    assert!(events.contains("FailedPostStartHook"), "{events}");

    k.ok(&["delete", "pods", "--all", "--wait=true"]);
    server.stop();
}

/// Debian's docker-registry on a free loopback port, with one htpasswd user; killed on drop.
struct Registry {
    child: std::process::Child,
    address: String,
}

impl Registry {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let htpasswd = std::process::Command::new("htpasswd")
            .args(["-Bbn", "puller", "s3cret"])
            .output()
            .unwrap();
        assert!(htpasswd.status.success(), "htpasswd (apache2-utils) failed");
        std::fs::write(dir.join("htpasswd"), &htpasswd.stdout).unwrap();
        let config = format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {data}}}}}\nhttp: {{addr: {address}}}\nauth: {{htpasswd: {{realm: gantry, path: {htpasswd}}}}}\n",
            data = dir.join("data").display(),
            htpasswd = dir.join("htpasswd").display(),
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let child = std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (Debian package docker-registry)");
        let up = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            std::net::TcpStream::connect(&address).is_ok()
        });
        assert!(up, "docker-registry did not listen on {address}");
        Self { child, address }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ctr(socket: &Path, args: &[&str]) {
    let out = std::process::Command::new("ctr")
        .arg("--address")
        .arg(socket)
        .args(["--namespace", "k8s.io"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_pulled_from_a_local_registry_by_policy_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let registry = Registry::start(&registry_dir);
    let server = start_node(dir.path(), "e2e-node-5", "gte2e5", "10.42.107.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);

    // Put the test image in the registry (behind a password), then forget it locally so that
    // the node must pull it.
    let socket = dir.path().join("agent/containerd/containerd.sock");
    let remote = format!("{}/test/busybox:1.36", registry.address);
    ctr(
        &socket,
        &["images", "tag", "docker.io/library/busybox:1.36", &remote],
    );
    ctr(
        &socket,
        &[
            "images",
            "push",
            "--plain-http",
            "--user",
            "puller:s3cret",
            &remote,
        ],
    );
    ctr(&socket, &["images", "rm", &remote]);

    k.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={}", registry.address),
        "--docker-username=puller",
        "--docker-password=s3cret",
    ]);
    let manifest = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: with-secret}}
spec:
  nodeName: e2e-node-5
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [{{name: regcred}}]
  containers: [{{name: c, image: "{remote}", imagePullPolicy: Always, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: without-secret}}
spec:
  nodeName: e2e-node-5
  containers: [{{name: c, image: "{remote}", imagePullPolicy: Always, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: never}}
spec:
  nodeName: e2e-node-5
  containers: [{{name: c, image: "{registry}/test/absent:1", imagePullPolicy: Never}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: present}}
spec:
  nodeName: e2e-node-5
  terminationGracePeriodSeconds: 1
  containers: [{{name: c, image: "busybox:1.36", imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}}]
"#,
        registry = registry.address
    );
    let file = dir.path().join("pull.yaml");
    std::fs::write(&file, manifest).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");

    let pulled = wait_phase(&pods, "with-secret", "Running", 60).await;
    assert!(
        pulled["status"]["containerStatuses"][0]["imageID"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{pulled}"
    );
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=with-secret",
    ]);
    assert!(events.contains("Successfully pulled image"), "{events}");

    let refused = wait_pod(&pods, "without-secret", "ImagePullBackOff", 60, |p| {
        waiting_reason(p) == "ImagePullBackOff"
    })
    .await;
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=without-secret",
    ]);
    assert!(events.contains("401 Unauthorized"), "{events}\n{refused}");

    wait_pod(&pods, "never", "ErrImageNeverPull", 60, |p| {
        waiting_reason(p) == "ErrImageNeverPull"
    })
    .await;
    wait_phase(&pods, "present", "Running", 60).await;
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=present",
    ]);
    assert!(events.contains("already present on machine"), "{events}");

    k.ok(&["delete", "pods", "--all", "--wait=true"]);
    server.stop();
    drop(registry);
}

/// The worker node these tests start with `gantry agent`.
const WORKER: NodeSpec<'static> = NodeSpec {
    name: "e2e-node-6",
    bridge: "gte2e6",
    pod_cidr: Some("10.42.108.0/24"),
    cluster_cidr: None,
    extra_args: &[],
    netns: None,
};

async fn renew_time(leases: &Api<Lease>, node: &str) -> Option<String> {
    let lease = leases.get_opt(node).await.unwrap()?;
    lease.spec?.renew_time.map(|t| {
        serde_json::to_value(t)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_leaves_containers_running_and_its_lease_stale() {
    let dir = tempfile::tempdir().unwrap();
    // The controller manager signs the joining node's certificate.
    let server = Server::start_with_agent(
        &dir.path().join("server"),
        &["--disable-agent", "--disable-scheduler"],
    );
    let (url, token) = (server.url_at("127.0.0.1"), server.token());
    let node_dir = dir.path().join("node");
    std::fs::create_dir_all(&node_dir).unwrap();
    let mut agent = Agent::start(&url, &token, &node_dir, &WORKER);
    let client = client(&server).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    for _ in 0..200 {
        if renew_time(&leases, "e2e-node-6").await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let node = Api::<Node>::all(client.clone())
        .get("e2e-node-6")
        .await
        .unwrap();
    let labels = node.metadata.labels.unwrap();
    assert!(
        !labels.contains_key("node-role.kubernetes.io/control-plane"),
        "a worker is not a control plane"
    );

    let k = Kubectl::new(33, &server.kubeconfig);
    // It joined with the token: its certificate came through an approved, signed request made
    // by the token's user, and it acts as system:node:<name> since.
    let joined = k.ok(&[
        "get",
        "csr",
        "-o",
        "jsonpath={range .items[*]}{.spec.username} {.spec.signerName} {.status.conditions[0].type} {.status.conditions[0].reason} {.status.certificate}{end}",
    ]);
    let fields: Vec<&str> = joined.split_whitespace().collect();
    assert_eq!(
        &fields[1..4],
        [
            "kubernetes.io/kube-apiserver-client-kubelet",
            "Approved",
            "AutoApproved"
        ],
        "{joined}"
    );
    assert!(
        fields[0].starts_with("system:bootstrap:") && fields.len() == 5,
        "{joined}"
    );
    let kept = std::fs::read_to_string(node_dir.join("agent/kubelet.kubeconfig")).unwrap();
    assert!(kept.contains("client-certificate-data"), "{kept}");
    // kubectl run, bound to the node by an override until the scheduler lands.
    k.ok(&[
        "run",
        "steady",
        "--image=busybox:1.36",
        "--restart=Never",
        "--overrides={\"spec\":{\"nodeName\":\"e2e-node-6\",\"terminationGracePeriodSeconds\":1}}",
        "--",
        "sleep",
        "3600",
    ]);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let before = wait_phase(&pods, "steady", "Running", 60).await;
    let id = before["status"]["containerStatuses"][0]["containerID"].clone();
    assert!(
        before["status"]["podIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.42.108."))
    );

    // Killed, the agent renews nothing: the Lease goes stale.
    agent.kill();
    let stale = renew_time(&leases, "e2e-node-6").await.unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        renew_time(&leases, "e2e-node-6").await.unwrap(),
        stale,
        "the lease moved without an agent"
    );

    // Started again, it finds the container running and leaves it alone.
    let agent = Agent::start(&url, &token, &node_dir, &WORKER);
    let mut renewed = stale.clone();
    for _ in 0..200 {
        renewed = renew_time(&leases, "e2e-node-6").await.unwrap();
        if renewed != stale {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(
        renewed, stale,
        "the restarted agent did not renew its lease"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = wait_phase(&pods, "steady", "Running", 30).await;
    assert_eq!(
        after["status"]["containerStatuses"][0]["containerID"], id,
        "the container was replaced"
    );
    assert_eq!(after["status"]["containerStatuses"][0]["restartCount"], 0);

    k.ok(&["delete", "pod", "steady"]);
    agent.stop();
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_pods_run_from_manifests_and_are_mirrored() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("agent/pod-manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(
        manifests.join("web.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web, labels: {tier: static}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: busybox:1.36, command: [sleep, \"3600\"]}]\n",
    )
    .unwrap();
    let server = start_node(dir.path(), "e2e-node-7", "gte2e7", "10.42.109.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");

    let mirror = wait_pod(
        &pods,
        "static-web-e2e-node-7",
        "a Running mirror",
        60,
        |p| p["status"]["phase"] == "Running",
    )
    .await;
    assert!(
        mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_string(),
        "{mirror}"
    );
    assert_eq!(mirror["metadata"]["ownerReferences"][0]["kind"], "Node");
    assert_eq!(mirror["spec"]["nodeName"], "e2e-node-7");
    let id = mirror["status"]["containerStatuses"][0]["containerID"].clone();

    // Deleting the mirror does not stop the pod: the node writes the mirror again.
    k.ok(&["delete", "pod", "static-web-e2e-node-7", "--wait=false"]);
    let again = wait_pod(&pods, "static-web-e2e-node-7", "a new mirror", 60, |p| {
        p["metadata"]["uid"] != mirror["metadata"]["uid"] && p["status"]["phase"] == "Running"
    })
    .await;
    assert_eq!(
        again["status"]["containerStatuses"][0]["containerID"], id,
        "the static pod restarted"
    );

    // Removing the manifest stops the pod and removes its mirror.
    std::fs::remove_file(manifests.join("web.yaml")).unwrap();
    wait_pod(&pods, "static-web-e2e-node-7", "no mirror", 60, |p| {
        p.is_null()
    })
    .await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_places_pods_and_says_why_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-8", "gte2e8", "10.42.110.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let client = client(&server).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // No nodeName: the scheduler binds it to the only node.
    k.ok(&["run", "web", "--image=busybox:1.36", "--", "sleep", "3600"]);
    let web = wait_phase(&pods, "web", "Running", 60).await;
    assert_eq!(web["spec"]["nodeName"], "e2e-node-8");
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=web,reason=Scheduled",
    ]);
    assert!(
        events.contains("Successfully assigned default/web to e2e-node-8"),
        "{events}"
    );

    // Too large for every node: Pending, with upstream's message where users look.
    let file = dir.path().join("huge.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\nspec:\n  containers: [{name: c, image: busybox:1.36, command: [sleep, \"3600\"], resources: {requests: {cpu: \"1000\"}}}]\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    // Nothing of lower priority runs anywhere, so preemption cannot help either.
    let message = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    let pending = wait_pod(&pods, "huge", "the PodScheduled=False condition", 60, |p| {
        p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["type"] == "PodScheduled" && c["status"] == "False" && c["message"] == message
            })
        })
    })
    .await;
    assert_eq!(pending["status"]["phase"], "Pending");
    assert!(pending["spec"]["nodeName"].is_null());
    let described = k.ok(&["describe", "pod", "huge"]);
    assert!(
        described.contains("FailedScheduling") && described.contains(message),
        "{described}"
    );

    // A node big enough arrives (an object only: no kubelet behind it): the pod goes there.
    let nodes: Api<Node> = Api::all(client.clone());
    let big: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "big-node", "labels": {"kubernetes.io/hostname": "big-node"}}
    }))
    .unwrap();
    nodes
        .create(&kube::api::PostParams::default(), &big)
        .await
        .unwrap();
    let status = serde_json::json!({"status": {
        "allocatable": {"cpu": "2000", "memory": "64Gi", "pods": "110"},
        "capacity": {"cpu": "2000", "memory": "64Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "fake"}]
    }});
    nodes
        .patch_status(
            "big-node",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .unwrap();
    let placed = wait_pod(&pods, "huge", "a node", 60, |p| {
        p["spec"]["nodeName"] == "big-node"
    })
    .await;
    assert_eq!(placed["spec"]["nodeName"], "big-node");

    // Anti-affinity to itself by hostname: three replicas on three different nodes.
    let fake: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "fake-2", "labels": {"kubernetes.io/hostname": "fake-2"}}
    }))
    .unwrap();
    nodes
        .create(&kube::api::PostParams::default(), &fake)
        .await
        .unwrap();
    nodes
        .patch_status(
            "fake-2",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .unwrap();
    let mut spread = String::new();
    for i in 0..3 {
        spread.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: spread-{i}, labels: {{app: spread}}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {{matchLabels: {{app: spread}}}}\n        topologyKey: kubernetes.io/hostname\n  containers: [{{name: c, image: busybox:1.36, command: [sleep, \"3600\"]}}]\n"
        ));
    }
    let file = dir.path().join("spread.yaml");
    std::fs::write(&file, spread).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let mut placed_on = std::collections::BTreeSet::new();
    for i in 0..3 {
        let pod = wait_pod(&pods, &format!("spread-{i}"), "a node", 60, |p| {
            p["spec"]["nodeName"].is_string()
        })
        .await;
        placed_on.insert(pod["spec"]["nodeName"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        placed_on.len(),
        3,
        "the replicas share nodes: {placed_on:?}"
    );

    for name in ["huge", "spread-0", "spread-1", "spread-2"] {
        k.ok(&["delete", "pod", name, "--grace-period=0", "--force"]);
    }

    // Preemption on the real node: a low-priority pod takes most of its CPU; a high-priority
    // pod that needs the room evicts it and runs there. Sized from what the node offers, so
    // that both never fit together whatever the machine.
    let allocatable = nodes
        .get("e2e-node-8")
        .await
        .unwrap()
        .status
        .unwrap()
        .allocatable
        .unwrap();
    let cores: f64 = allocatable["cpu"].0.parse().unwrap();
    let low_cpu = format!("{}m", (cores * 1000.0) as i64 - 300);
    let preemption = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: low}\nvalue: 10\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: low}\nspec:\n  priorityClassName: low\n  terminationGracePeriodSeconds: 1\n  nodeSelector: {kubernetes.io/hostname: e2e-node-8}\n  containers: [{name: c, image: busybox:1.36, command: [sleep, \"3600\"], resources: {requests: {cpu: \"LOW_CPU\"}}}]\n";
    let file = dir.path().join("preemption.yaml");
    std::fs::write(&file, preemption.replace("LOW_CPU", &low_cpu)).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let low = wait_phase(&pods, "low", "Running", 60).await;
    assert_eq!(low["spec"]["priority"], 10);
    let low_uid = low["metadata"]["uid"].as_str().unwrap().to_owned();
    let high = "apiVersion: v1\nkind: Pod\nmetadata: {name: high}\nspec:\n  priorityClassName: high\n  nodeSelector: {kubernetes.io/hostname: e2e-node-8}\n  containers: [{name: c, image: busybox:1.36, command: [sleep, \"3600\"], resources: {requests: {cpu: \"500m\"}}}]\n";
    let file = dir.path().join("high.yaml");
    std::fs::write(&file, high).unwrap();
    k.ok(&["apply", "-f", file.to_str().unwrap()]);
    let high = wait_phase(&pods, "high", "Running", 90).await;
    assert_eq!(high["spec"]["nodeName"], "e2e-node-8");
    assert_eq!(high["status"]["nominatedNodeName"], "e2e-node-8");
    wait_pod(&pods, "low", "the victim gone", 60, |p| {
        p.is_null() || p["metadata"]["uid"] != low_uid.as_str()
    })
    .await;
    let events = k.ok(&["get", "events", "--field-selector", "reason=Preempted"]);
    assert!(
        events.contains(&format!(
            "Preempted by pod {} on node e2e-node-8",
            high["metadata"]["uid"].as_str().unwrap()
        )),
        "{events}"
    );
    k.ok(&["delete", "pod", "high", "--grace-period=0", "--force"]);
    k.ok(&["delete", "pod", "web"]);
    server.stop();
}
