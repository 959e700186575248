//! Built-in admission with kubectl 1.33: PodSecurity refuses (or warns about) pods that break
//! the namespace's standard with upstream's message, a LimitRange fills in container defaults,
//! a ResourceQuota refuses the pod that would exceed it.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::{Server, poll_for};
use std::time::Duration;

const PRIVILEGED: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: priv}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    securityContext: {privileged: true}\n";

#[test]
fn pod_security_limit_ranges_and_quotas_admit_pods_as_upstream() {
    let dir = tempfile::tempdir().unwrap();
    // The controller manager keeps the quota's status.
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let manifest = dir.path().join("priv.yaml");
    std::fs::write(&manifest, PRIVILEGED).unwrap();
    let manifest = manifest.to_str().unwrap();

    // PodSecurity: enforce refuses, warn warns.
    k.ok(&["create", "namespace", "secure"]);
    k.ok(&[
        "label",
        "namespace",
        "secure",
        "pod-security.kubernetes.io/enforce=restricted",
    ]);
    let refused = k.run(&["apply", "-n", "secure", "-f", manifest]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains(r#"pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#),
        "{stderr}"
    );
    k.ok(&["create", "namespace", "watched"]);
    k.ok(&[
        "label",
        "namespace",
        "watched",
        "pod-security.kubernetes.io/warn=baseline",
    ]);
    let warned = k.run(&["apply", "-n", "watched", "-f", manifest]);
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(warned.status.success(), "{stderr}");
    assert!(
        stderr.contains(r#"Warning: would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)"#),
        "{stderr}"
    );

    // LimitRange: defaults filled in, and said so.
    k.ok(&["create", "namespace", "limited"]);
    let range = dir.path().join("range.yaml");
    std::fs::write(&range, "apiVersion: v1\nkind: LimitRange\nmetadata: {name: defaults, namespace: limited}\nspec:\n  limits:\n  - type: Container\n    default: {cpu: 500m, memory: 128Mi}\n    defaultRequest: {cpu: 100m, memory: 64Mi}\n    max: {cpu: '1'}\n").unwrap();
    k.ok(&["apply", "-f", range.to_str().unwrap()]);
    k.ok(&[
        "run",
        "plain",
        "-n",
        "limited",
        "--image=busybox:1.36",
        "--restart=Never",
        "--",
        "sleep",
        "1",
    ]);
    let resources = k.ok(&[
        "get",
        "pod",
        "plain",
        "-n",
        "limited",
        "-o",
        "jsonpath={.spec.containers[0].resources}",
    ]);
    let resources: serde_json::Value = serde_json::from_str(&resources).unwrap();
    assert_eq!(
        resources,
        serde_json::json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}})
    );
    let note = k.ok(&[
        "get",
        "pod",
        "plain",
        "-n",
        "limited",
        "-o",
        "jsonpath={.metadata.annotations.kubernetes\\.io/limit-ranger}",
    ]);
    assert_eq!(
        note,
        "LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain"
    );
    let too_big = k.run(&["run", "big", "-n", "limited", "--image=busybox:1.36", "--restart=Never", "--overrides={\"spec\":{\"containers\":[{\"name\":\"big\",\"image\":\"busybox:1.36\",\"resources\":{\"limits\":{\"cpu\":\"2\"}}}]}}"]);
    assert!(
        String::from_utf8_lossy(&too_big.stderr).contains(
            r#"pods "big" is forbidden: [maximum cpu usage per Container is 1, but limit is 2]"#
        ),
        "{}",
        String::from_utf8_lossy(&too_big.stderr)
    );

    // ResourceQuota: the third pod of a two-pod quota is refused.
    k.ok(&["create", "namespace", "quoted"]);
    k.ok(&[
        "create",
        "quota",
        "two-pods",
        "--hard=pods=2",
        "-n",
        "quoted",
    ]);
    poll_for(Duration::from_secs(20), || {
        k.ok(&[
            "get",
            "quota",
            "two-pods",
            "-n",
            "quoted",
            "-o",
            "jsonpath={.status.hard.pods}",
        ])
    });
    for name in ["p1", "p2"] {
        k.ok(&[
            "run",
            name,
            "-n",
            "quoted",
            "--image=busybox:1.36",
            "--restart=Never",
            "--",
            "sleep",
            "1",
        ]);
    }
    let third = k.run(&[
        "run",
        "p3",
        "-n",
        "quoted",
        "--image=busybox:1.36",
        "--restart=Never",
        "--",
        "sleep",
        "1",
    ]);
    assert!(
        String::from_utf8_lossy(&third.stderr).contains(r#"pods "p3" is forbidden: exceeded quota: two-pods, requested: pods=1, used: pods=2, limited: pods=2"#),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert_eq!(
        k.ok(&[
            "get",
            "quota",
            "two-pods",
            "-n",
            "quoted",
            "-o",
            "jsonpath={.status.used.pods}"
        ]),
        "2"
    );
    server.stop();
}
