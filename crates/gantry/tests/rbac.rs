//! RBAC end to end with kubectl 1.33: a ServiceAccount bound to `view` in one namespace may do
//! exactly what upstream's `view` allows there — every other verb on every core and apps
//! resource is a 403 with upstream's message — and `kubectl auth can-i [--list]` says the
//! same; escalation prevention stops a namespace admin granting what they do not hold.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use common::kubectl::Kubectl;
use common::{Server, poll_for};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const READER: &str = "system:serviceaccount:demo:reader";

/// What upstream's `view` lets read in a namespace, by (API group, resource).
const VIEWABLE: &[(&str, &str)] = &[
    ("", "bindings"),
    ("", "configmaps"),
    ("", "endpoints"),
    ("", "events"),
    ("", "limitranges"),
    ("", "persistentvolumeclaims"),
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("", "resourcequotas"),
    ("", "serviceaccounts"),
    ("", "services"),
    ("apps", "controllerrevisions"),
    ("apps", "daemonsets"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
];

const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

/// The admin's credentials as files curl reads.
struct Curl {
    base: String,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Curl {
    fn new(server: &Server, dir: &Path) -> Self {
        let write = |name: &str, key: &str| {
            let path = dir.join(name);
            std::fs::write(&path, server.kubeconfig_field(key)).unwrap();
            path
        };
        Self {
            base: server.url_at("127.0.0.1"),
            ca: write("ca.crt", "certificate-authority-data"),
            cert: write("admin.crt", "client-certificate-data"),
            key: write("admin.key", "client-key-data"),
        }
    }

    /// `method path` as `user` (impersonated by the admin): the status code and the body.
    fn as_user(&self, user: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut command = Command::new("curl");
        command
            // An allowed watch streams until curl gives up: its status is all that matters.
            .args([
                "-sS",
                "--max-time",
                if path.contains("watch=true") {
                    "0.5"
                } else {
                    "5"
                },
            ])
            .args(["-X", method, "-w", "\n%{http_code}"])
            .arg("--cacert")
            .arg(&self.ca)
            .arg("--cert")
            .arg(&self.cert)
            .arg("--key")
            .arg(&self.key)
            .args(["-H", &format!("Impersonate-User: {user}")]);
        if let Some(body) = body {
            let kind = if method == "PATCH" {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            command.args(["-H", &format!("Content-Type: {kind}"), "--data", body]);
        }
        let out = command
            .arg(format!("{}{path}", self.base))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }
}

/// Every top-level resource of a group version, from discovery: (name, namespaced).
fn resources(curl: &Curl, path: &str) -> Vec<(String, bool)> {
    let (code, body) = curl.as_user("system:admin", "GET", path, None);
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["name"].as_str().unwrap().contains('/'))
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["namespaced"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn request(verb: &str, collection: &str) -> (&'static str, String, Option<&'static str>) {
    let one = format!("{collection}/probe");
    match verb {
        "get" => ("GET", one, None),
        "list" => ("GET", collection.to_owned(), None),
        "watch" => ("GET", format!("{collection}?watch=true"), None),
        "create" => ("POST", collection.to_owned(), Some("{}")),
        "update" => ("PUT", one, Some("{}")),
        "patch" => ("PATCH", one, Some("{}")),
        "delete" => ("DELETE", one, None),
        _ => ("DELETE", collection.to_owned(), None),
    }
}

/// `kubectl auth can-i --list`'s table: resource → verbs.
fn can_i_list(out: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut table = BTreeMap::new();
    for line in out.lines().skip(1) {
        let Some(resource) = line.split_whitespace().next() else {
            continue;
        };
        let (Some(open), Some(close)) = (line.rfind('['), line.rfind(']')) else {
            continue;
        };
        let verbs: BTreeSet<String> = line[open + 1..close]
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        table
            .entry(resource.to_owned())
            .or_insert_with(BTreeSet::new)
            .extend(verbs);
    }
    table
}

#[test]
fn a_namespaced_view_binding_allows_reading_there_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // The controller manager aggregates `view`.
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&["create", "namespace", "demo"]);
    k.ok(&["create", "serviceaccount", "reader", "-n", "demo"]);
    k.ok(&[
        "create",
        "rolebinding",
        "reader-view",
        "--clusterrole=view",
        "--serviceaccount=demo:reader",
        "-n",
        "demo",
    ]);
    let aggregated = poll_for(Duration::from_secs(20), || {
        k.ok(&[
            "get",
            "clusterrole",
            "view",
            "-o",
            "jsonpath={.rules[*].resources}",
        ])
    });
    assert!(
        aggregated.contains("pods"),
        "view was never aggregated: {aggregated}"
    );

    let curl = Curl::new(&server, dir.path());
    let mut tried = 0;
    let mut allowed_pairs = BTreeSet::new();
    for (group, path) in [("", "/api/v1"), ("apps", "/apis/apps/v1")] {
        for (resource, namespaced) in resources(&curl, path) {
            let collection = if namespaced {
                format!("{path}/namespaces/demo/{resource}")
            } else {
                format!("{path}/{resource}")
            };
            let readable = namespaced && VIEWABLE.contains(&(group, resource.as_str()));
            for verb in VERBS {
                let (method, target, body) = request(verb, &collection);
                let (code, answer) = curl.as_user(READER, method, &target, body);
                tried += 1;
                let expected_allowed = readable && matches!(*verb, "get" | "list" | "watch");
                if expected_allowed {
                    assert_ne!(code, 403, "{verb} {resource}: {answer}");
                    let shown = if group.is_empty() {
                        resource.clone()
                    } else {
                        format!("{resource}.{group}")
                    };
                    allowed_pairs.insert((shown, (*verb).to_owned()));
                    continue;
                }
                assert_eq!(code, 403, "{verb} {resource} should be refused: {answer}");
                let status: serde_json::Value = serde_json::from_str(&answer).unwrap();
                let what = if group.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}.{group}")
                };
                let subject = if target.ends_with("/probe") {
                    format!("{what} \"probe\"")
                } else {
                    what
                };
                let scope = if namespaced {
                    "in the namespace \"demo\"".to_owned()
                } else {
                    "at the cluster scope".to_owned()
                };
                assert_eq!(
                    status["message"].as_str().unwrap(),
                    format!(
                        "{subject} is forbidden: User \"{READER}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
                    ),
                );
                assert_eq!(status["reason"], "Forbidden");
            }
        }
    }
    assert!(tried > 150, "only {tried} requests tried");

    // kubectl auth can-i agrees, pair by pair and as a list.
    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", "demo", "--as", READER]);
        String::from_utf8(k.run(&all).stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(can(&["list", "pods"]), "yes");
    assert_eq!(can(&["watch", "deployments.apps"]), "yes");
    assert_eq!(can(&["delete", "pods"]), "no");
    assert_eq!(can(&["get", "secrets"]), "no");
    let listed = can_i_list(&can(&["--list"]));
    for (shown, verb) in &allowed_pairs {
        assert!(
            listed
                .get(shown)
                .is_some_and(|verbs| verbs.contains(verb) || verbs.contains("*")),
            "can-i --list lacks {verb} {shown}: {listed:?}"
        );
    }
    for (resource, verbs) in &listed {
        if resource.contains('/') || resource.starts_with("selfsubject") || verbs.contains("*") {
            continue;
        }
        for verb in verbs {
            if VERBS.contains(&verb.as_str()) && resources_known(resource) {
                assert!(
                    allowed_pairs.contains(&(resource.clone(), verb.clone())),
                    "can-i --list allows {verb} {resource}, the requests did not"
                );
            }
        }
    }
    let whoami = String::from_utf8(k.run(&["auth", "whoami", "--as", READER]).stdout).unwrap();
    assert!(
        whoami.contains(READER) && whoami.contains("system:serviceaccounts:demo"),
        "{whoami}"
    );
    server.stop();
}

/// Whether a `can-i --list` resource is one of those the matrix tried (core and apps).
fn resources_known(resource: &str) -> bool {
    VIEWABLE.iter().any(|(group, name)| {
        let shown = if group.is_empty() {
            (*name).to_owned()
        } else {
            format!("{name}.{group}")
        };
        shown == resource
    })
}

#[test]
fn a_namespace_admin_cannot_grant_what_they_do_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_agent(dir.path(), &["--disable-agent", "--disable-scheduler"]);
    let k = Kubectl::new(33, &server.kubeconfig);
    k.ok(&["create", "namespace", "demo"]);
    k.ok(&[
        "create",
        "rolebinding",
        "dev-admin",
        "--clusterrole=admin",
        "--user=dev",
        "-n",
        "demo",
    ]);
    poll_for(Duration::from_secs(20), || {
        k.ok(&[
            "get",
            "clusterrole",
            "admin",
            "-o",
            "jsonpath={.rules[*].resources}",
        ])
    });
    let as_dev = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-n", "demo", "--as", "dev"]);
        k.run(&all)
    };
    // Within what admin holds: fine.
    let ok = as_dev(&[
        "create",
        "role",
        "pod-reader",
        "--verb=get,list",
        "--resource=pods",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let ok = as_dev(&[
        "create",
        "rolebinding",
        "helper",
        "--clusterrole=edit",
        "--user=helper",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Beyond it: refused, naming what is missing.
    let refused = as_dev(&[
        "create",
        "role",
        "node-reader",
        "--verb=get",
        "--resource=nodes",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(r#"roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "dev" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:"#)
            && stderr.contains(r#"{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}"#),
        "{stderr}"
    );
    let refused = as_dev(&[
        "create",
        "rolebinding",
        "root",
        "--clusterrole=cluster-admin",
        "--user=dev",
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr
            .contains(r#"rolebindings.rbac.authorization.k8s.io "root" is forbidden: user "dev""#)
            && stderr.contains("is attempting to grant RBAC permissions not currently held"),
        "{stderr}"
    );
    let nothing = k.run(&["get", "rolebinding", "root", "-n", "demo"]);
    assert!(
        !nothing.status.success(),
        "the refused binding must not exist"
    );
    server.stop();
}
