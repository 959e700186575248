//! Built-in admission with kubectl 1.33: PodSecurity refuses (or warns about) pods that break
//! the namespace's standard with upstream's message, a LimitRange fills in container defaults,
//! a ResourceQuota refuses the pod that would exceed it; an AdmissionConfiguration sets
//! PodSecurity's defaults and exemptions.

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

/// A webhook server: denies objects named `deny-*` (POST /validate), annotates others
/// (POST /mutate). Prints its port.
const ADMISSION_CONFIGURATION: &str = "apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: latest}
    exemptions: {namespaces: [trusted], usernames: [ops]}
";

/// `--admission-control-config-file`: unlabelled namespaces get the configured default, and
/// exempt namespaces and users escape it.
#[test]
fn an_admission_configuration_sets_pod_security_defaults_and_exemptions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("admission.yaml");
    std::fs::write(&config, ADMISSION_CONFIGURATION).unwrap();
    let server = Server::start(
        &dir.path().join("server"),
        &["--admission-control-config-file", config.to_str().unwrap()],
    );
    let k = Kubectl::new(33, &server.kubeconfig);
    let manifest = dir.path().join("priv.yaml");
    std::fs::write(&manifest, PRIVILEGED).unwrap();
    let manifest = manifest.to_str().unwrap();
    let refused = k.fails(&["apply", "-f", manifest]);
    assert!(
        refused.contains(r#"pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)"#),
        "{refused}"
    );
    k.ok(&["create", "namespace", "trusted"]);
    k.ok(&["apply", "-n", "trusted", "-f", manifest]);
    // An exempt user; and a namespace's own label still wins over the default.
    k.ok(&[
        "apply",
        "--as",
        "ops",
        "--as-group",
        "system:masters",
        "-f",
        manifest,
    ]);
    k.ok(&["create", "namespace", "open"]);
    k.ok(&[
        "label",
        "namespace",
        "open",
        "pod-security.kubernetes.io/enforce=privileged",
    ]);
    k.ok(&["apply", "-n", "open", "-f", manifest]);
    server.stop();
}

const WEBHOOK_SERVER: &str = r#"
import base64, json, ssl, sys
from http.server import HTTPServer, BaseHTTPRequestHandler
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        request = review['request']
        meta = (request['object'] or request['oldObject'])['metadata']
        response = {'uid': request['uid'], 'allowed': True}
        if self.path == '/validate' and meta.get('name', '').startswith('deny-'):
            response = {'uid': request['uid'], 'allowed': False,
                        'status': {'code': 403, 'message': 'names starting with deny- are not allowed'}}
        if self.path == '/validate' and request['operation'] == 'DELETE' and meta.get('name', '').startswith('keep-'):
            response = {'uid': request['uid'], 'allowed': False,
                        'status': {'code': 403, 'message': 'keep- objects may not be deleted'}}
        if self.path == '/mutate':
            if 'annotations' in meta:
                patch = [{'op': 'add', 'path': '/metadata/annotations/mutated-by', 'value': 'webhook'}]
            else:
                patch = [{'op': 'add', 'path': '/metadata/annotations', 'value': {'mutated-by': 'webhook'}}]
            response['patchType'] = 'JSONPatch'
            response['patch'] = base64.b64encode(json.dumps(patch).encode()).decode()
        body = json.dumps({'apiVersion': 'admission.k8s.io/v1', 'kind': 'AdmissionReview', 'response': response}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = HTTPServer(('127.0.0.1', 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A child process killed when dropped (also when an assertion fails first).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn webhook_configuration(
    (kind, name, path, operations): (&str, &str, &str, &[&str]),
    port: &str,
    ca: &str,
) -> String {
    use base64::Engine;
    serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": [{
            "name": format!("{name}.gantry.test"),
            "clientConfig": {
                "url": format!("https://127.0.0.1:{port}{path}"),
                "caBundle": base64::engine::general_purpose::STANDARD.encode(ca),
            },
            "rules": [{"operations": operations, "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
        }],
    })
    .to_string()
}

#[test]
fn webhooks_deny_and_mutate_over_https() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let authority = gantry_pki::Authority::generate("webhook-ca").unwrap();
    let serving = authority
        .issue(&gantry_pki::Leaf::server(
            "webhook",
            vec![],
            vec!["127.0.0.1".parse().unwrap()],
        ))
        .unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, &serving.cert_pem).unwrap();
    std::fs::write(&key, &serving.key_pem).unwrap();
    let mut webhook = Killed(
        std::process::Command::new("python3")
            .args(["-c", WEBHOOK_SERVER])
            .arg(&cert)
            .arg(&key)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut port = String::new();
    std::io::BufReader::new(webhook.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim().to_owned();

    let server = Server::start(&dir.path().join("server"), &[]);
    let k = Kubectl::new(33, &server.kubeconfig);
    for hook in [
        (
            "ValidatingWebhookConfiguration",
            "deny",
            "/validate",
            &["CREATE", "DELETE"][..],
        ),
        (
            "MutatingWebhookConfiguration",
            "annotate",
            "/mutate",
            &["CREATE"][..],
        ),
    ] {
        let file = dir.path().join(format!("{}.json", hook.1));
        std::fs::write(
            &file,
            webhook_configuration(hook, &port, authority.cert_pem()),
        )
        .unwrap();
        k.ok(&["apply", "-f", file.to_str().unwrap()]);
    }
    // The configurations reach the API server's cache through its watch.
    let denied = poll_for(Duration::from_secs(10), || {
        let out = k.run(&["create", "configmap", "deny-me"]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    });
    assert!(
        denied.contains(r#"admission webhook "deny.gantry.test" denied the request: names starting with deny- are not allowed"#),
        "{denied}"
    );
    assert!(
        !k.run(&["get", "configmap", "deny-me"]).status.success(),
        "a denied object is not stored"
    );
    k.ok(&["create", "configmap", "fine"]);
    assert_eq!(
        k.ok(&[
            "get",
            "configmap",
            "fine",
            "-o",
            "jsonpath={.metadata.annotations.mutated-by}"
        ]),
        "webhook"
    );
    // sideEffects: None lets dry runs through.
    k.ok(&["create", "configmap", "dry", "--dry-run=server"]);
    // Deletes are admitted too: the webhook sees DELETE with the old object.
    k.ok(&["create", "configmap", "keep-me"]);
    let refused = k.fails(&["delete", "configmap", "keep-me"]);
    assert!(
        refused.contains(r#"admission webhook "deny.gantry.test" denied the request: keep- objects may not be deleted"#),
        "{refused}"
    );
    k.ok(&["get", "configmap", "keep-me"]);
    k.ok(&["delete", "configmap", "fine"]);

    // failurePolicy: Fail — with the webhook gone, creates fail and say why.
    drop(webhook);
    let failed = k.run(&["create", "configmap", "after"]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains(r#"failed calling webhook "annotate.gantry.test""#),
        "{stderr}"
    );
    server.stop();
}
