//! `gantry-bench scheduler`: scheduling throughput and latency against any API server and any
//! scheduler behind it, in the manner of upstream's scheduler_perf: Node objects with capacity
//! only (no kubelet), a first batch of pods to fill the cluster a little, then the measured
//! pods; a watch sees each binding. Pods per second run from the first measured create to the
//! last binding seen; each pod's latency from its create request to its binding.

use crate::http::{Api, Target};
use crate::parallel::parallel;
use crate::percentile;
use anyhow::{Context, bail};
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Flags of `gantry-bench scheduler`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (plain http).
    #[arg(long)]
    server: Option<String>,
    /// A kubeconfig to take the server from.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Node objects to create.
    #[arg(long, default_value_t = 5000)]
    nodes: usize,
    /// Measured pods.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Pods scheduled before the measurement.
    #[arg(long, default_value_t = 1000)]
    init_pods: usize,
    /// `basic` (requests only), `affinity` (required node affinity to half the zones),
    /// `anti-affinity` (required hostname anti-affinity within groups of pods), `spread`
    /// (zone topology spread, max skew 1) or `preemption` (every node full of low-priority
    /// pods; each measured pod preempts one; `--init-pods` is then the node count).
    #[arg(long, default_value = "basic")]
    workload: String,
    /// Concurrent clients creating objects.
    #[arg(long, default_value_t = 50)]
    clients: usize,
}

/// The workloads, after upstream's scheduler_perf cases.
const WORKLOADS: &[&str] = &["basic", "affinity", "anti-affinity", "spread", "preemption"];

/// Pods that must not share a node with another of their group (hostname anti-affinity); the
/// groups keep every group smaller than the cluster.
const ANTI_AFFINITY_GROUPS: usize = 100;

/// A pod of `workload`; `init` marks the first, unmeasured batch.
fn pod(namespace: &str, name: &str, workload: &str, index: usize, init: bool) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/pause:3.10",
            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]},
    });
    match workload {
        "affinity" => {
            pod["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In",
                    "values": ["zone-0", "zone-1", "zone-2", "zone-3", "zone-4"]}]}]}}});
        }
        "anti-affinity" => {
            let group = format!("g{}", index % ANTI_AFFINITY_GROUPS);
            pod["metadata"]["labels"] = json!({"group": group});
            pod["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": {"group": group}},
                "topologyKey": "kubernetes.io/hostname"}]}});
        }
        "spread" => {
            let app = format!("app-{}", index % 10);
            pod["metadata"]["labels"] = json!({"app": app});
            pod["spec"]["topologySpreadConstraints"] = json!([{
                "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": app}}}]);
        }
        "preemption" => {
            // Every node holds one low-priority pod; each measured pod must evict one.
            let (class, cpu) = if init {
                ("bench-low", "3500m")
            } else {
                ("bench-high", "3")
            };
            pod["spec"]["priorityClassName"] = json!(class);
            pod["spec"]["terminationGracePeriodSeconds"] = json!(0);
            pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!(cpu);
        }
        _ => {}
    }
    pod
}

/// Watches the namespace until `count` pods are bound; returns when each was first seen bound.
async fn bindings(
    api: Api,
    namespace: String,
    count: usize,
    seen: Arc<AtomicUsize>,
) -> anyhow::Result<HashMap<String, Instant>> {
    let mut body = api
        .stream(&format!("/api/v1/namespaces/{namespace}/pods?watch=true"))
        .await?;
    let mut bound = HashMap::with_capacity(count);
    let mut buffer = Vec::new();
    while bound.len() < count {
        let frame = tokio::time::timeout(Duration::from_secs(120), body.frame())
            .await
            .with_context(|| format!("no binding for 120 s ({} of {count} bound)", bound.len()))?;
        let Some(frame) = frame else {
            bail!("the watch ended after {} of {count} bindings", bound.len());
        };
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line)?;
            if event["object"]["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
            {
                let name = event["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                bound.entry(name).or_insert_with(Instant::now);
                seen.store(bound.len(), Ordering::Relaxed);
            }
        }
    }
    Ok(bound)
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    if !WORKLOADS.contains(&args.workload.as_str()) {
        bail!(
            "unknown workload {:?}: one of {}",
            args.workload,
            WORKLOADS.join(", ")
        );
    }
    let preemption = args.workload == "preemption";
    let init_pods = if preemption {
        args.nodes
    } else {
        args.init_pods
    };
    if preemption && args.pods > args.nodes {
        bail!(
            "preemption: at most one measured pod per node ({} nodes)",
            args.nodes
        );
    }
    let target = Target::resolve(args.server.as_deref(), args.kubeconfig.as_deref())?;
    eprintln!(
        "scheduler: {} nodes, {} pods ({}) through {}",
        args.nodes, args.pods, args.workload, target.server
    );
    let api = Api::new(target)?;
    let run = format!("{:x}", fastrand::u32(..));

    // Nodes: 4 CPUs, 32 GiB, 110 pods each, in ten zones.
    let prefix = format!("bench-{run}");
    let nodes = args.nodes;
    {
        let prefix = prefix.clone();
        parallel(&api, args.clients, nodes, move |i| {
            let body = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("{prefix}-{i}"),
                "labels": {"kubernetes.io/hostname": format!("{prefix}-{i}"), "topology.kubernetes.io/zone": format!("zone-{}", i % 10)}}});
            (Method::POST, "/api/v1/nodes".to_owned(), Some(body))
        })
        .await?;
    }
    {
        let prefix = prefix.clone();
        parallel(&api, args.clients, nodes, move |i| {
            let resources = json!({"cpu": "4", "memory": "32Gi", "pods": "110"});
            let body = json!({"status": {"capacity": resources, "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "benchmark node"}]}});
            (Method::PATCH, format!("/api/v1/nodes/{prefix}-{i}/status"), Some(body))
        })
        .await?;
    }
    let classes = [("bench-low", 1), ("bench-high", 1000)]
        .map(|(name, value)| (format!("{name}-{run}"), name, value));
    if preemption {
        for (name, _, value) in &classes {
            api.expect(
                Method::POST,
                "/apis/scheduling.k8s.io/v1/priorityclasses",
                Some(
                    &json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                    "metadata": {"name": name}, "value": value}),
                ),
            )
            .await?;
        }
    }
    let namespace = format!("sched-{run}");
    api.expect(
        Method::POST,
        "/api/v1/namespaces",
        Some(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})),
    )
    .await?;

    // The first batch: scheduled, not measured.
    let seen = Arc::new(AtomicUsize::new(0));
    let watch = tokio::spawn(bindings(
        api.clone(),
        namespace.clone(),
        init_pods + args.pods,
        Arc::clone(&seen),
    ));
    let class_names: Vec<(String, String)> = classes
        .iter()
        .map(|(name, short, _)| ((*short).to_owned(), name.clone()))
        .collect();
    let with_class = move |mut pod: Value| {
        if let Some(short) = pod["spec"]["priorityClassName"].as_str().map(str::to_owned)
            && let Some((_, name)) = class_names.iter().find(|(s, _)| *s == short)
        {
            pod["spec"]["priorityClassName"] = json!(name);
        }
        pod
    };
    let path = format!("/api/v1/namespaces/{namespace}/pods");
    let (ns, workload) = (namespace.clone(), args.workload.clone());
    {
        let (path, ns, workload) = (path.clone(), ns.clone(), workload.clone());
        let with_class = with_class.clone();
        parallel(&api, args.clients, init_pods, move |i| {
            let pod = pod(&ns, &format!("init-{i}"), &workload, i, true);
            (Method::POST, path.clone(), Some(with_class(pod)))
        })
        .await?;
    }
    // The cluster is filled before the measurement starts, as upstream's scheduler_perf waits
    // for its initial pods (measured pods of higher priority would otherwise overtake them).
    let waiting = Instant::now();
    while seen.load(Ordering::Relaxed) < init_pods {
        if watch.is_finished() || waiting.elapsed() > Duration::from_secs(300) {
            bail!(
                "only {} of {init_pods} initial pods were scheduled",
                seen.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let measured_start = Instant::now();
    let sent = {
        let (path, ns, workload) = (path.clone(), ns.clone(), workload.clone());
        parallel(&api, args.clients, args.pods, move |i| {
            let pod = pod(&ns, &format!("p-{i}"), &workload, i, false);
            (Method::POST, path.clone(), Some(with_class(pod)))
        })
        .await?
    };
    let bound = watch.await??;
    let mut latencies = Vec::with_capacity(args.pods);
    let mut last = measured_start;
    for (i, at) in &sent {
        let name = format!("p-{i}");
        let seen = bound
            .get(&name)
            .copied()
            .with_context(|| format!("{name} was never bound"))?;
        latencies.push(seen.saturating_duration_since(*at));
        last = last.max(seen);
    }
    let elapsed = last.duration_since(measured_start).as_secs_f64().max(1e-9);
    let pods_per_s = args.pods as f64 / elapsed;
    let p50 = percentile::millis(&mut latencies, 50.0);
    let p99 = percentile::millis(&mut latencies, 99.0);
    eprintln!(
        "scheduler: {} pods bound in {elapsed:.2} s; latency p50 {p50:.1} ms",
        args.pods
    );

    // Clean up: pods on nodes without kubelets go at once (grace 0), then the nodes.
    api.expect(
        Method::DELETE,
        &format!("{path}?gracePeriodSeconds=0"),
        None,
    )
    .await?;
    api.expect(
        Method::DELETE,
        &format!("/api/v1/namespaces/{namespace}"),
        None,
    )
    .await?;
    parallel(&api, args.clients, nodes, move |i| {
        (Method::DELETE, format!("/api/v1/nodes/{prefix}-{i}"), None)
    })
    .await?;
    if preemption {
        for (name, _, _) in &classes {
            api.expect(
                Method::DELETE,
                &format!("/apis/scheduling.k8s.io/v1/priorityclasses/{name}"),
                None,
            )
            .await?;
        }
    }

    println!(
        "scheduler workload={} nodes={} pods={} pods_per_s={pods_per_s:.0} p99_ms={p99:.1}",
        args.workload, args.nodes, args.pods
    );
    Ok(())
}
