//! ServiceAccounts on a real node: a pod gets upstream's `kube-api-access-*` volume with a
//! token bound to it, the cluster's CA and its namespace; the token authenticates as the
//! ServiceAccount (authorized by RBAC as bound) until the pod is gone; `kubectl create token`
//! issues TokenRequests; the issuer's OIDC discovery documents are served; every namespace
//! gets `kube-root-ca.crt`.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::node::start_node;
use common::poll_for;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn ca_file(server: &common::Server, dir: &Path) -> (PathBuf, String) {
    let pem = server.kubeconfig_field("certificate-authority-data");
    let path = dir.join("ca.crt");
    std::fs::write(&path, &pem).unwrap();
    (path, pem)
}

/// `GET path` (or `POST` with a body) with a bearer token: status and body.
fn with_token(
    ca: &Path,
    url: &str,
    token: &str,
    path: &str,
    post: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-w", "\n%{http_code}", "--cacert"])
        .arg(ca)
        .args(["-H", &format!("Authorization: Bearer {token}")]);
    if let Some(body) = post {
        command.args(["-H", "Content-Type: application/json", "--data", body]);
    }
    let out = command.arg(format!("{url}{path}")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.trim().parse().unwrap(),
        serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.to_owned())),
    )
}

#[test]
fn pods_get_bound_tokens_that_rbac_authorizes_until_the_pod_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_node(dir.path(), "e2e-node-14", "gte2e14", "10.42.116.0/24");
    let k = Kubectl::new(33, &server.kubeconfig);
    let (ca, ca_pem) = ca_file(&server, dir.path());
    let url = server.url_at("127.0.0.1");
    poll_for(Duration::from_secs(30), || {
        k.ok(&["get", "serviceaccounts", "-o", "name"])
    });
    k.ok(&[
        "run",
        "sa-pod",
        "--image=busybox:1.36",
        "--restart=Never",
        "--",
        "sleep",
        "3600",
    ]);
    let running = poll_for(Duration::from_secs(60), || {
        let phase = k.ok(&["get", "pod", "sa-pod", "-o", "jsonpath={.status.phase}"]);
        if phase == "Running" {
            phase
        } else {
            String::new()
        }
    });
    assert_eq!(
        running,
        "Running",
        "{}",
        k.ok(&["describe", "pod", "sa-pod"])
    );

    // Upstream's volume, mounted where in-cluster clients look.
    let volumes = k.ok(&["get", "pod", "sa-pod", "-o", "jsonpath={.spec.serviceAccountName} {.spec.volumes[*].name} {.spec.containers[0].volumeMounts[*].mountPath}"]);
    assert!(
        volumes.starts_with("default kube-api-access-") && volumes.ends_with(ACCOUNT_DIR),
        "{volumes}"
    );
    let read = |file: &str| {
        k.ok(&[
            "exec",
            "sa-pod",
            "--",
            "cat",
            &format!("{ACCOUNT_DIR}/{file}"),
        ])
    };
    assert_eq!(read("namespace"), "default");
    assert_eq!(read("ca.crt"), ca_pem);
    let token = read("token");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    // The token is the ServiceAccount, with the pod it is bound to.
    let (code, review) = with_token(
        &ca,
        &url,
        &token,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#),
    );
    assert_eq!(code, 201, "{review}");
    let info = &review["status"]["userInfo"];
    assert_eq!(info["username"], "system:serviceaccount:default:default");
    assert!(
        info["groups"]
            .to_string()
            .contains("system:serviceaccounts:default"),
        "{info}"
    );
    assert_eq!(
        info["extra"]["authentication.kubernetes.io/pod-name"][0],
        "sa-pod"
    );

    // RBAC decides what it may do.
    let (code, refused) = with_token(&ca, &url, &token, "/api/v1/namespaces/default/pods", None);
    assert_eq!(code, 403, "{refused}");
    assert_eq!(
        refused["message"],
        r#"pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    k.ok(&[
        "create",
        "rolebinding",
        "sa-view",
        "--clusterrole=view",
        "--serviceaccount=default:default",
    ]);
    let listed = poll_for(Duration::from_secs(20), || {
        let (code, list) = with_token(&ca, &url, &token, "/api/v1/namespaces/default/pods", None);
        if code == 200 {
            list.to_string()
        } else {
            String::new()
        }
    });
    assert!(listed.contains("sa-pod"), "{listed}");

    // The issuer's discovery documents, readable by service accounts.
    let (code, discovery) =
        with_token(&ca, &url, &token, "/.well-known/openid-configuration", None);
    assert_eq!(code, 200, "{discovery}");
    assert_eq!(
        discovery["issuer"],
        "https://kubernetes.default.svc.cluster.local"
    );
    let (_, keys) = with_token(&ca, &url, &token, "/openid/v1/jwks", None);
    assert_eq!(keys["keys"][0]["kty"], "EC", "{keys}");

    // kubectl create token: a TokenRequest, with upstream's lower bound.
    let made = k.ok(&["create", "token", "default", "--duration=10m"]);
    let (code, _) = with_token(
        &ca,
        &url,
        made.trim(),
        "/api/v1/namespaces/default/pods",
        None,
    );
    assert_eq!(code, 200);
    let short = k.run(&["create", "token", "default", "--duration=1m"]);
    assert!(
        String::from_utf8_lossy(&short.stderr)
            .contains("may not specify a duration less than 10 minutes"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );

    // Every namespace gets the cluster's CA.
    k.ok(&["create", "namespace", "fresh"]);
    let published = poll_for(Duration::from_secs(20), || {
        let out = k.run(&[
            "get",
            "configmap",
            "kube-root-ca.crt",
            "-n",
            "fresh",
            "-o",
            "jsonpath={.data.ca\\.crt}",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    assert_eq!(published, ca_pem);

    // A pod that opts out gets no token.
    k.ok(&[
        "run",
        "no-token",
        "--image=busybox:1.36",
        "--restart=Never",
        "--overrides={\"spec\":{\"automountServiceAccountToken\":false}}",
        "--",
        "sleep",
        "3600",
    ]);
    let volumes = k.ok(&["get", "pod", "no-token", "-o", "jsonpath={.spec.volumes}"]);
    assert!(!volumes.contains("kube-api-access"), "{volumes}");

    // Once the pod is gone, so is its token.
    k.ok(&["delete", "pod", "sa-pod", "--grace-period=1", "--wait=true"]);
    let (code, gone) = with_token(&ca, &url, &token, "/api/v1/namespaces/default/pods", None);
    assert_eq!(code, 401, "{gone}");
    server.stop();
}
