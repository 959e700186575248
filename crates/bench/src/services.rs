//! `gantry-bench services`: how fast a node's service proxy follows Service and endpoint
//! changes, how long its full resync takes at scale, and how fast the cluster DNS answers. Run
//! it as root on a node (it reads the node's nftables).
//!
//! Figures: `program_p50_ms`/`program_p99_ms`, from an EndpointSlice write acknowledged by the
//! API server until `nft monitor` shows the new endpoint's DNAT rule in the proxy's table (one
//! change at a time, after the table holds every Service); `resync_ms`, the proxy's full resync
//! of `n` Services (render, list, one transaction) into a scratch table; `dns_qps` and
//! `dns_p99_ms`, service-name A queries over UDP from concurrent clients. Anchors: upstream's
//! network-programming SLO (p99 ≤ 30 s) and its DNS scale tests' p99 (100 ms).

use crate::http::{Api, Target};
use crate::parallel::parallel;
use crate::percentile::millis;
use anyhow::{Context, bail};
use gantry_network::nft;
use gantry_proxy::model::{Endpoint, Protocol, ServicePort};
use gantry_proxy::rules::{RenderConfig, Ruleset};
use gantry_proxy::transaction::{Before, transaction};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use http::Method;
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// Flags of `gantry-bench services`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (plain http).
    #[arg(long)]
    server: Option<String>,
    /// A kubeconfig to take the server from.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Services to create.
    #[arg(long, default_value_t = 1000)]
    services: usize,
    /// Endpoints of each.
    #[arg(long, default_value_t = 10)]
    endpoints: usize,
    /// Endpoint changes timed, one at a time.
    #[arg(long, default_value_t = 100)]
    changes: usize,
    /// The proxy's nftables table on this node.
    #[arg(long, default_value = "gantry")]
    table: String,
    /// The cluster DNS to query (`ip:port`); default: this cluster's first `kube-dns`
    /// endpoint.
    #[arg(long)]
    dns: Option<SocketAddr>,
    /// How long DNS is queried.
    #[arg(long, default_value_t = 5)]
    dns_seconds: u64,
    /// Concurrent DNS clients.
    #[arg(long, default_value_t = 8)]
    dns_clients: usize,
    /// Concurrent API clients for the set-up.
    #[arg(long, default_value_t = 16)]
    clients: usize,
}

/// Endpoint `j` of Service `i`: addresses in 100.64.0.0/10, which nothing else here uses.
fn endpoint_ip(i: usize, j: usize) -> Ipv4Addr {
    let offset = u32::try_from(i * 64 + j).unwrap_or(u32::MAX) & 0x003f_ffff;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + offset)
}

fn slice(namespace: &str, i: usize, ips: &[Ipv4Addr]) -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": format!("svc-{i}"), "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": format!("svc-{i}")}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": ips.iter().map(|ip| json!({"addresses": [ip.to_string()],
                                               "conditions": {"ready": true}})).collect::<Vec<_>>(),
    })
}

/// Lines `nft monitor` prints, with the time each was read.
fn monitor() -> anyhow::Result<(
    tokio::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<(Instant, String)>,
)> {
    let mut child = tokio::process::Command::new("nft")
        .arg("monitor")
        .stdout(std::process::Stdio::piped())
        // It warns about sets created before it started; only its events matter here.
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("running nft monitor (root and nftables are needed)")?;
    let stdout = child.stdout.take().context("nft monitor's output")?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send((Instant::now(), line)).is_err() {
                return;
            }
        }
    });
    Ok((child, rx))
}

/// How many cluster-IP elements the proxy's table holds.
async fn programmed(table: &str) -> usize {
    let out = tokio::process::Command::new("nft")
        .args(["-j", "list", "map", "ip", table, "service-ips"])
        .output()
        .await;
    let Ok(out) = out else { return 0 };
    let Ok(listing) = serde_json::from_slice::<Value>(&out.stdout) else {
        return 0;
    };
    listing["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.pointer("/map/elem").and_then(Value::as_array))
        .map(Vec::len)
        .sum()
}

/// The proxy's full resync of `services` × `endpoints` into a scratch table, timed.
async fn resync(services: usize, endpoints: usize) -> anyhow::Result<Duration> {
    let table = format!("gantry-bench-resync-{}", std::process::id());
    let ports: Vec<ServicePort> = (0..services)
        .map(|i| ServicePort {
            service: format!("bench/svc-{i}"),
            port_name: "http".into(),
            protocol: Protocol::Tcp,
            port: 80,
            cluster_ips: vec![Ipv4Addr::from(
                u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i as u32,
            )],
            node_port: None,
            external_ips: vec![],
            affinity_seconds: None,
            external_local: false,
            internal_local: false,
            endpoints: (0..endpoints)
                .map(|j| Endpoint {
                    ip: endpoint_ip(i, j),
                    port: 8080,
                    local: false,
                    ready: true,
                    serving_terminating: false,
                })
                .collect(),
        })
        .collect();
    let config = RenderConfig {
        cluster_cidr: "10.42.0.0/16".parse().ok(),
    };
    let started = Instant::now();
    let wanted = Ruleset::render(&ports, &config);
    let listing = nft::list(&table).await?;
    nft::apply(&transaction(&table, Before::Listed(&listing), &wanted)).await?;
    let took = started.elapsed();
    nft::remove_table(&table).await?;
    Ok(took)
}

/// Queries `names` round-robin for `seconds` from `clients` sockets: (answers, latencies).
async fn query_dns(
    server: SocketAddr,
    names: Arc<Vec<String>>,
    seconds: u64,
    clients: usize,
) -> anyhow::Result<(usize, Vec<Duration>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients.max(1) {
        let (names, stop) = (Arc::clone(&names), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let socket = tokio::net::UdpSocket::bind("0.0.0.0:0").await?;
            socket.connect(server).await?;
            let mut latencies = Vec::new();
            let mut buffer = vec![0u8; 1500];
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let mut query = Message::query();
                query.metadata.recursion_desired = true;
                query.add_query(Query::query(
                    Name::from_ascii(&names[i % names.len()])?,
                    RecordType::A,
                ));
                let bytes = query.to_vec()?;
                let sent = Instant::now();
                socket.send(&bytes).await?;
                match tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buffer)).await {
                    Ok(Ok(_)) => latencies.push(sent.elapsed()),
                    // A lost datagram counts at the timeout.
                    _ => latencies.push(Duration::from_secs(2)),
                }
                i += clients;
            }
            anyhow::Ok(latencies)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok((all.len(), all))
}

/// The first `kube-dns` endpoint of the cluster, `ip:port` of its `dns` port.
async fn cluster_dns(api: &Api) -> anyhow::Result<SocketAddr> {
    let bytes = api
        .expect(
            Method::GET,
            "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns",
            None,
        )
        .await?;
    let list: Value = serde_json::from_slice(&bytes)?;
    for slice in list["items"].as_array().into_iter().flatten() {
        let port = slice["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "dns")
            .and_then(|p| p["port"].as_u64());
        let ip = slice["endpoints"][0]["addresses"][0].as_str();
        if let (Some(port), Some(ip)) = (port, ip) {
            return Ok(SocketAddr::new(ip.parse()?, u16::try_from(port)?));
        }
    }
    bail!("no kube-dns endpoint in this cluster; name one with --dns")
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let api = Api::new(Target::resolve(
        args.server.as_deref(),
        args.kubeconfig.as_deref(),
    )?)?;
    let namespace = format!("bench-svc-{}", fastrand::u32(..));
    let (n, e) = (args.services, args.endpoints.max(1));
    api.expect(
        Method::POST,
        "/api/v1/namespaces",
        Some(&json!({"metadata": {"name": namespace}})),
    )
    .await?;
    let (_monitor, mut lines) = monitor()?;
    let before = programmed(&args.table).await;
    let started = Instant::now();
    let ns = namespace.clone();
    parallel(&api, args.clients, n, move |i| {
        let body = json!({"metadata": {"name": format!("svc-{i}"), "namespace": ns},
                          "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}});
        (
            Method::POST,
            format!("/api/v1/namespaces/{ns}/services"),
            Some(body),
        )
    })
    .await?;
    let ns = namespace.clone();
    parallel(&api, args.clients, n, move |i| {
        let ips: Vec<Ipv4Addr> = (0..e).map(|j| endpoint_ip(i, j)).collect();
        (
            Method::POST,
            format!("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"),
            Some(slice(&ns, i, &ips)),
        )
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while programmed(&args.table).await < before + n {
        if Instant::now() > deadline {
            bail!(
                "the proxy's table {} never held the {n} Services",
                args.table
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let initial = started.elapsed();

    // One change at a time: a new endpoint in one Service's slice, until its rule appears.
    let mut latencies = Vec::new();
    for k in 0..args.changes {
        let i = fastrand::usize(..n.max(1));
        let mut ips: Vec<Ipv4Addr> = (0..e).map(|j| endpoint_ip(i, j)).collect();
        let fresh = endpoint_ip(i, e + 1 + k % (63 - e.min(62)));
        ips.push(fresh);
        while lines.try_recv().is_ok() {}
        let sent = Instant::now();
        api.expect(
            Method::PUT,
            &format!("/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/svc-{i}"),
            Some(&slice(&namespace, i, &ips)),
        )
        .await?;
        let needle = format!("dnat to {fresh}:8080");
        let seen = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some((at, line)) = lines.recv().await {
                if line.contains(&needle) {
                    return Some(at);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .with_context(|| format!("the rule for {fresh} never appeared"))?;
        latencies.push(seen.duration_since(sent));
        // Back to the original endpoints, so the next change of this Service is new again.
        ips.pop();
        api.expect(
            Method::PUT,
            &format!("/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/svc-{i}"),
            Some(&slice(&namespace, i, &ips)),
        )
        .await?;
    }
    let resync = resync(n, e).await?;

    let dns = match args.dns {
        Some(address) => address,
        None => cluster_dns(&api).await?,
    };
    let names: Vec<String> = (0..n)
        .map(|i| format!("svc-{i}.{namespace}.svc.cluster.local."))
        .collect();
    let (answered, mut dns_latencies) =
        query_dns(dns, Arc::new(names), args.dns_seconds, args.dns_clients).await?;
    let _ = api
        .send(
            Method::DELETE,
            &format!("/api/v1/namespaces/{namespace}"),
            None,
        )
        .await;
    println!(
        "programmed {n} services × {e} endpoints in {:.2} s; {} changes; DNS {} via {dns}",
        initial.as_secs_f64(),
        latencies.len(),
        answered
    );
    println!(
        "services n={n} program_p50_ms={:.1} program_p99_ms={:.1} resync_ms={:.0} dns_qps={:.0} dns_p99_ms={:.2}",
        millis(&mut latencies.clone(), 50.0),
        millis(&mut latencies, 99.0),
        resync.as_secs_f64() * 1000.0,
        answered as f64 / args.dns_seconds.max(1) as f64,
        millis(&mut dns_latencies, 99.0),
    );
    Ok(())
}
