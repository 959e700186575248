//! `gantry-bench controllers`: how fast the controller manager (any, behind any API server)
//! turns Deployments into available pods and rolls them to a new template. Node objects stand
//! in for nodes, and the benchmark plays their kubelets (as upstream's hollow nodes): it renews
//! their Leases, reports every pod bound to them as Running and Ready, and finishes the
//! deletion of pods being deleted there. The scheduler binds the pods as usual.
//!
//! Figures: `available_s`, from the first Deployment create until every Deployment has all
//! its replicas updated and available; `rollout_s`, from the first template change until every
//! Deployment has rolled completely (only new pods left, all available).

use crate::http::{Api, Target};
use crate::parallel::parallel;
use anyhow::{Context, bail};
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags of `gantry-bench controllers`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (plain http).
    #[arg(long)]
    server: Option<String>,
    /// A kubeconfig to take the server from.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Deployments to create.
    #[arg(long, default_value_t = 100)]
    deployments: usize,
    /// Replicas of each.
    #[arg(long, default_value_t = 10)]
    replicas: usize,
    /// Hollow nodes.
    #[arg(long, default_value_t = 50)]
    nodes: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 20)]
    clients: usize,
}

/// The hollow kubelets: every pod bound to one of our nodes is reported Running and Ready;
/// a pod being deleted there is deleted for good.
async fn hollow_kubelets(api: Api, namespace: String, prefix: String) -> anyhow::Result<()> {
    let mut body = api
        .stream(&format!("/api/v1/namespaces/{namespace}/pods?watch=true"))
        .await?;
    let mut started: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut buffer = Vec::new();
    let (work, mut jobs) =
        tokio::sync::mpsc::unbounded_channel::<(Method, String, Option<Value>)>();
    // Writers, so that the watch is never held up by a request.
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
            while let Some((method, path, body)) = jobs.recv().await {
                let (api, limit) = (api.clone(), std::sync::Arc::clone(&limit));
                let permit = limit.acquire_owned().await;
                tokio::spawn(async move {
                    let _permit = permit;
                    let _ = api.send(method, &path, body.as_ref()).await;
                });
            }
        })
    };
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line)?;
            let pod = &event["object"];
            let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
            if !node.starts_with(&prefix) || event["type"] == "DELETED" {
                continue;
            }
            let uid = pod["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let name = pod["metadata"]["name"].as_str().unwrap_or_default();
            let path = format!("/api/v1/namespaces/{namespace}/pods/{name}");
            if pod["metadata"]["deletionTimestamp"].is_string() {
                if finished.insert(uid) {
                    let _ =
                        work.send((Method::DELETE, format!("{path}?gracePeriodSeconds=0"), None));
                }
                continue;
            }
            if started.insert(uid) {
                let second = gantry_api::time::now_rfc3339();
                let n = started.len();
                let ip = format!("10.{}.{}.{}", 200 + (n >> 16) % 50, (n >> 8) & 255, n & 255);
                let status = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": second,
                    "conditions": [
                        {"type": "Initialized", "status": "True", "lastTransitionTime": second},
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": second},
                        {"type": "Ready", "status": "True", "lastTransitionTime": second},
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": second}]}});
                let _ = work.send((Method::PATCH, format!("{path}/status"), Some(status)));
            }
        }
    }
    drop(work);
    let _ = writer.await;
    bail!("the pod watch ended")
}

/// Renews the hollow nodes' Leases every 10 s, as kubelets do.
async fn heartbeats(api: Api, prefix: String, nodes: usize) {
    loop {
        for i in 0..nodes {
            let patch = json!({"spec": {"renewTime": gantry_api::time::now_micro()}});
            let _ = api
                .send(Method::PATCH, &format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{prefix}-{i}"), Some(&patch))
                .await;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// Polls the namespace's Deployments until `done` holds for every one; returns the time.
async fn wait_all(
    api: &Api,
    namespace: &str,
    count: usize,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Instant> {
    let started = Instant::now();
    loop {
        let bytes = api
            .expect(
                Method::GET,
                &format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
                None,
            )
            .await?;
        let list: Value = serde_json::from_slice(&bytes)?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let ready = items.iter().filter(|d| done(d)).count();
        if items.len() == count && ready == count {
            return Ok(Instant::now());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {ready} of {count} Deployments got there in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether a Deployment has rolled completely to its current template.
fn rolled(d: &Value, replicas: i64) -> bool {
    let status = &d["status"];
    let n = |field: &str| status[field].as_i64().unwrap_or(0);
    status["observedGeneration"].as_i64() >= d["metadata"]["generation"].as_i64()
        && n("updatedReplicas") == replicas
        && n("availableReplicas") == replicas
        && n("replicas") == replicas
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::resolve(args.server.as_deref(), args.kubeconfig.as_deref())?;
    eprintln!(
        "controllers: {} deployments x {} replicas on {} hollow nodes through {}",
        args.deployments, args.replicas, args.nodes, target.server
    );
    let api = Api::new(target)?;
    let run = format!("{:x}", fastrand::u32(..));
    let prefix = format!("hollow-{run}");
    {
        let prefix = prefix.clone();
        parallel(&api, args.clients, args.nodes, move |i| {
            let body = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("{prefix}-{i}"),
                "labels": {"kubernetes.io/hostname": format!("{prefix}-{i}")}}});
            (Method::POST, "/api/v1/nodes".to_owned(), Some(body))
        })
        .await?;
    }
    {
        let prefix = prefix.clone();
        parallel(&api, args.clients, args.nodes, move |i| {
            let resources = json!({"cpu": "32", "memory": "128Gi", "pods": "110"});
            let now = gantry_api::time::now_rfc3339();
            let body = json!({"status": {"capacity": resources, "allocatable": resources, "conditions": [{"type": "Ready",
                "status": "True", "reason": "KubeletReady", "message": "hollow node", "lastHeartbeatTime": now, "lastTransitionTime": now}]}});
            (Method::PATCH, format!("/api/v1/nodes/{prefix}-{i}/status"), Some(body))
        })
        .await?;
    }
    {
        let prefix = prefix.clone();
        parallel(&api, args.clients, args.nodes, move |i| {
            let body = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": format!("{prefix}-{i}"), "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": format!("{prefix}-{i}"), "leaseDurationSeconds": 40, "renewTime": gantry_api::time::now_micro()}});
            (Method::POST, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases".to_owned(), Some(body))
        })
        .await?;
    }
    let beating = tokio::spawn(heartbeats(api.clone(), prefix.clone(), args.nodes));
    let namespace = format!("ctl-{run}");
    api.expect(
        Method::POST,
        "/api/v1/namespaces",
        Some(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})),
    )
    .await?;
    let kubelets = tokio::spawn(hollow_kubelets(
        api.clone(),
        namespace.clone(),
        prefix.clone(),
    ));

    let replicas = args.replicas;
    let created = Instant::now();
    {
        let namespace = namespace.clone();
        parallel(&api, args.clients, args.deployments, move |i| {
            let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d-{i}")},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": format!("d-{i}")}},
                    "template": {"metadata": {"labels": {"app": format!("d-{i}")}},
                        "spec": {"containers": [{"name": "c", "image": "registry.invalid/pause:3.10",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}});
            (Method::POST, format!("/apis/apps/v1/namespaces/{namespace}/deployments"), Some(body))
        })
        .await?;
    }
    let replicas_i = i64::try_from(replicas).unwrap_or(0);
    let available = wait_all(&api, &namespace, args.deployments, |d| {
        rolled(d, replicas_i)
    })
    .await?;
    let available_s = available.duration_since(created).as_secs_f64();
    eprintln!("controllers: all available after {available_s:.2} s; rolling");

    let rolling = Instant::now();
    {
        let namespace = namespace.clone();
        parallel(&api, args.clients, args.deployments, move |i| {
            let patch = json!({"spec": {"template": {"metadata": {"annotations": {"bench/revision": "2"}}}}});
            (Method::PATCH, format!("/apis/apps/v1/namespaces/{namespace}/deployments/d-{i}"), Some(patch))
        })
        .await?;
    }
    let rolled_at = wait_all(&api, &namespace, args.deployments, |d| {
        rolled(d, replicas_i)
            && d["spec"]["template"]["metadata"]["annotations"]["bench/revision"] == "2"
    })
    .await
    .context("waiting for the rollout")?;
    let rollout_s = rolled_at.duration_since(rolling).as_secs_f64();

    // Clean up: the namespace (its controller empties it; the hollow kubelets finish pod
    // deletions meanwhile), then the nodes.
    api.expect(
        Method::DELETE,
        &format!("/api/v1/namespaces/{namespace}"),
        None,
    )
    .await?;
    let waiting = Instant::now();
    while waiting.elapsed() < Duration::from_secs(60) {
        let (status, _) = api
            .send(
                Method::GET,
                &format!("/api/v1/namespaces/{namespace}"),
                None,
            )
            .await?;
        if status == http::StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    kubelets.abort();
    beating.abort();
    parallel(&api, args.clients, args.nodes, move |i| {
        (Method::DELETE, format!("/api/v1/nodes/{prefix}-{i}"), None)
    })
    .await?;

    println!(
        "controllers deployments={} pods={} available_s={available_s:.2} rollout_s={rollout_s:.2}",
        args.deployments,
        args.deployments * args.replicas
    );
    Ok(())
}
