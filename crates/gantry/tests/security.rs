//! The API is served over TLS only, to whom it can authenticate: plain HTTP is answered as Go's
//! servers answer it, anonymous users see only upstream's public information, a bad token is
//! a 401, and nodes join with the printed token only if the server's authority matches it.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::Server;
use common::kubectl::Kubectl;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

/// A kubeconfig for the same server and authority as `admin`, with `user` as its user entry.
fn kubeconfig_as(admin: &Path, user: &str, path: &Path) {
    let text = std::fs::read_to_string(admin).unwrap();
    let users = text.find("users:").unwrap();
    std::fs::write(
        path,
        format!(
            "{}users:\n- name: default\n  user: {user}\n",
            &text[..users]
        ),
    )
    .unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn only_tls_is_served_and_anonymous_users_see_only_public_information() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);

    // Plain HTTP on the API port gets Go's answer, not the API.
    let mut plain = std::net::TcpStream::connect(format!("127.0.0.1:{}", server.port())).unwrap();
    plain
        .write_all(b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = plain.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.0 400 Bad Request"), "{answer}");
    assert!(
        answer.contains("Client sent an HTTP request to an HTTPS server."),
        "{answer}"
    );

    // The admin kubeconfig works (a client certificate in system:masters).
    let admin = Kubectl::new(33, &server.kubeconfig);
    assert!(admin.ok(&["get", "namespaces"]).contains("kube-system"));

    // Anonymous requests (curl trusting the cluster's authority, no credentials).
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, server.kubeconfig_field("certificate-authority-data")).unwrap();
    let curl = |path: &str, headers: &[&str]| -> String {
        let out = Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&ca)
            .args(headers.iter().flat_map(|h| ["-H", h]))
            .arg(format!("https://localhost:{}{path}", server.port()))
            .output()
            .unwrap();
        assert!(out.status.success(), "curl {path}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let anonymous = |path: &str| curl(path, &[]);
    assert_eq!(anonymous("/healthz"), "ok");
    assert!(anonymous("/version").contains("gitVersion"));
    let refused: serde_json::Value =
        serde_json::from_str(&anonymous("/api/v1/namespaces/default/pods")).unwrap();
    assert_eq!(refused["code"], 403, "{refused}");
    assert_eq!(refused["reason"], "Forbidden", "{refused}");
    assert_eq!(
        refused["message"],
        r#"pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    assert_eq!(refused["details"]["kind"], "pods", "{refused}");
    let refused: serde_json::Value = serde_json::from_str(&anonymous("/api")).unwrap();
    assert_eq!(
        refused["message"],
        r#"forbidden: User "system:anonymous" cannot get path "/api""#
    );
    let refused: serde_json::Value = serde_json::from_str(&curl(
        "/api",
        &["Authorization: Bearer abcdef.0123456789abcdef"],
    ))
    .unwrap();
    assert_eq!(
        (&refused["code"], &refused["reason"], &refused["message"]),
        (
            &serde_json::json!(401),
            &serde_json::json!("Unauthorized"),
            &serde_json::json!("Unauthorized")
        ),
        "{refused}"
    );
    // What joining nodes read is public.
    let info: serde_json::Value = serde_json::from_str(&anonymous(
        "/api/v1/namespaces/kube-public/configmaps/cluster-info",
    ))
    .unwrap();
    assert!(
        info["data"]["kubeconfig"]
            .as_str()
            .unwrap()
            .contains("certificate-authority-data"),
        "{info}"
    );

    // A token that matches nothing is a 401, which kubectl 1.33 reports as it does against
    // upstream (its discovery client words the 401 itself).
    let bad_config = dir.path().join("bad.kubeconfig");
    kubeconfig_as(
        &server.kubeconfig,
        "{token: abcdef.0123456789abcdef}",
        &bad_config,
    );
    let bad = Kubectl::new(33, &bad_config);
    let refused = bad.run(&["get", "pods"]);
    assert!(
        stderr(&refused).contains(
            "You must be logged in to the server (the server has asked for the client to provide credentials)"
        ),
        "{}",
        stderr(&refused)
    );

    // The server's own bootstrap token may ask for certificates and nothing else.
    let token = server.token();
    let bearer = token.split("::").nth(1).unwrap();
    let joining_config = dir.path().join("joining.kubeconfig");
    kubeconfig_as(
        &server.kubeconfig,
        &format!("{{token: {bearer}}}"),
        &joining_config,
    );
    let joining = Kubectl::new(33, &joining_config);
    assert!(
        joining.run(&["get", "csr"]).status.success(),
        "{}",
        stderr(&joining.run(&["get", "csr"]))
    );
    let refused = joining.run(&["get", "secrets", "-n", "kube-system"]);
    assert!(
        stderr(&refused).contains(
            r#"cannot list resource "secrets" in API group "" in the namespace "kube-system""#
        ),
        "{}",
        stderr(&refused)
    );
    server.stop();
}

fn join(server_url: &str, token: &str, data_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "agent",
            "--server",
            server_url,
            "--token",
            token,
            "--node-name",
            "joiner",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_node_joins_only_a_server_whose_authority_matches_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(
        &dir.path().join("server"),
        &["--disable-agent", "--disable-scheduler"],
    );
    let url = server.url_at("127.0.0.1");
    let token = server.token();
    let admin = Kubectl::new(33, &server.kubeconfig);

    // Another cluster's hash: the agent stops before sending the token anywhere.
    let (_, bootstrap) = token.split_once("::").unwrap();
    let wrong = format!("K10{}::{bootstrap}", "0".repeat(64));
    let out = join(&url, &wrong, &dir.path().join("wrong"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("presents the certificate authority sha256:")
            && stderr(&out).contains(&format!(
                "but the join token is for sha256:{}",
                "0".repeat(64)
            )),
        "{}",
        stderr(&out)
    );
    assert!(
        admin.ok(&["get", "csr", "-o", "name"]).trim().is_empty(),
        "no request was made"
    );

    // An expired token is refused by the server.
    let hash = token
        .strip_prefix("K10")
        .unwrap()
        .split("::")
        .next()
        .unwrap();
    admin.ok(&[
        "create",
        "secret",
        "generic",
        "bootstrap-token-oldtok",
        "-n",
        "kube-system",
        "--type",
        "bootstrap.kubernetes.io/token",
        "--from-literal",
        "token-id=oldtok",
        "--from-literal",
        "token-secret=0123456789abcdef",
        "--from-literal",
        "usage-bootstrap-authentication=true",
        "--from-literal",
        "expiration=2020-01-01T00:00:00Z",
    ]);
    let out = join(
        &url,
        &format!("K10{hash}::oldtok.0123456789abcdef"),
        &dir.path().join("expired"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the server refused the join token oldtok.<secret>"),
        "{}",
        stderr(&out)
    );

    // A malformed token is caught before anything is sent.
    let out = join(&url, "not-a-token", &dir.path().join("malformed"));
    assert!(
        stderr(&out).contains("--token: a join token starts with K10"),
        "{}",
        stderr(&out)
    );
    server.stop();
}

fn gantry(args: &[&str], data_dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "gantry {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tokens_are_created_listed_and_deleted_and_kubeconfigs_printed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let created = gantry(
        &["token", "create", "--ttl", "1h", "--description", "for n2"],
        dir.path(),
    );
    let token = created.trim();
    let (hash, bootstrap) = token.strip_prefix("K10").unwrap().split_once("::").unwrap();
    assert_eq!(
        hash,
        server
            .token()
            .strip_prefix("K10")
            .unwrap()
            .split("::")
            .next()
            .unwrap()
    );
    let id = bootstrap.split('.').next().unwrap();
    let listed = gantry(&["token", "list"], dir.path());
    let line = listed
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        line.contains("authentication,signing") && line.ends_with("for n2"),
        "{line}"
    );

    // The new token authenticates as a bootstrapper, until it is deleted.
    let as_token = dir.path().join("token.kubeconfig");
    kubeconfig_as(
        &server.kubeconfig,
        &format!("{{token: {bootstrap}}}"),
        &as_token,
    );
    let k = Kubectl::new(33, &as_token);
    assert!(k.run(&["get", "csr"]).status.success());
    gantry(&["token", "delete", token], dir.path());
    let refused = k.run(&["get", "csr"]);
    assert!(
        stderr(&refused).contains("You must be logged in"),
        "{}",
        stderr(&refused)
    );

    // `gantry kubeconfig` prints a working admin kubeconfig.
    let url = server.url_at("127.0.0.1");
    let printed = gantry(&["kubeconfig", "--server", &url], dir.path());
    let file = dir.path().join("printed.kubeconfig");
    std::fs::write(&file, printed).unwrap();
    assert!(
        Kubectl::new(33, &file)
            .ok(&["get", "namespaces"])
            .contains("kube-public")
    );
    server.stop();
}

/// Every byte the embedded store keeps on disk.
fn raw_store(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir.join("store")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_are_encrypted_at_rest_and_older_plain_ones_stay_readable() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    // Written before encryption is turned on: stored plain, read through identity later.
    let server = Server::start(dir.path(), &[]);
    Kubectl::new(33, &server.kubeconfig).ok(&[
        "create",
        "secret",
        "generic",
        "before",
        "--from-literal=v=old-plain-value",
    ]);
    server.stop();

    let server = Server::start(dir.path(), &["--secrets-encryption"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "--from-literal=password=plaintext-hunter2",
    ]);
    k.ok(&[
        "create",
        "configmap",
        "c1",
        "--from-literal=note=plaintext-visible",
    ]);
    let read = |name: &str, key: &str| {
        let encoded = k.ok(&[
            "get",
            "secret",
            name,
            "-o",
            &format!("jsonpath={{.data.{key}}}"),
        ]);
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(read("s1", "password"), "plaintext-hunter2");
    assert_eq!(read("before", "v"), "old-plain-value");
    let raw = raw_store(dir.path());
    assert!(
        contains(&raw, "plaintext-visible"),
        "the raw read sees unencrypted resources"
    );
    assert!(
        contains(&raw, "k8s:enc:aesgcm:v1:"),
        "an encrypted value is stored"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode("plaintext-hunter2");
    assert!(
        !contains(&raw, "plaintext-hunter2") && !contains(&raw, &encoded),
        "the Secret's data is in the store in plain"
    );
    assert!(
        !contains(&raw, "\"name\":\"s1\""),
        "the whole Secret object is encrypted"
    );
    server.stop();

    // The key persists: after a restart the Secret reads back.
    let server = Server::start(dir.path(), &["--secrets-encryption"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    let encoded = k.ok(&["get", "secret", "s1", "-o", "jsonpath={.data.password}"]);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap(),
        b"plaintext-hunter2"
    );
    server.stop();
}
