//! `gantry-bench api`: the API server under client load, against **any** Kubernetes API server
//! (Gantry or upstream), so the two can be measured side by side.
//!
//! Phases, each in its own fresh namespace:
//! 1. `--clients` concurrent clients create `--creates` pods as fast as the server answers
//!    (`creates_per_s`);
//! 2. creates at a fixed `--rate` for `--rate-seconds`, open loop (each request leaves at its
//!    scheduled time whether or not earlier ones have answered, so a stall shows in the tail
//!    rather than hiding it): `create_p99_ms`;
//! 3. a full list of the first phase's pods, `--list-runs` times (median): `list10k_ms`;
//! 4. `--watchers` watches on one namespace while a writer creates ConfigMaps at
//!    `--events-per-s` for `--watch-seconds`; every watcher times every event from the moment
//!    its write was sent (`watch_p99_ms`).

use crate::http::{Api, Target};
use crate::percentile;
use anyhow::{Context, bail};
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Flags of `gantry-bench api`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (plain http), e.g. http://127.0.0.1:6443.
    #[arg(long)]
    server: Option<String>,
    /// A kubeconfig to take the server (and a bearer token) from.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Concurrent clients in the throughput phase.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Pods created in the throughput phase (and then listed).
    #[arg(long, default_value_t = 10_000)]
    creates: usize,
    /// Creates per second in the latency phase.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Length of the latency phase.
    #[arg(long, default_value_t = 5)]
    rate_seconds: u32,
    /// How many times the full list is timed (the median is reported).
    #[arg(long, default_value_t = 3)]
    list_runs: usize,
    /// Concurrent watchers in the fan-out phase.
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Writes per second while the watchers listen.
    #[arg(long, default_value_t = 50)]
    events_per_s: u32,
    /// Length of the fan-out phase.
    #[arg(long, default_value_t = 10)]
    watch_seconds: u32,
}

fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "main", "image": "registry.invalid/pause:3.10"}]},
    })
}

async fn namespace(api: &Api, prefix: &str) -> anyhow::Result<String> {
    let name = format!("{prefix}-{:x}", fastrand::u32(..));
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.expect(Method::POST, "/api/v1/namespaces", Some(&body))
        .await?;
    Ok(name)
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::resolve(args.server.as_deref(), args.kubeconfig.as_deref())?;
    eprintln!("api: measuring {}", target.server);
    let api = Api::new(target)?;

    // 1. Throughput.
    let ns = namespace(&api, "bench-create").await?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|_| {
            let (api, ns, next, total) = (api.clone(), ns.clone(), Arc::clone(&next), args.creates);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let path = format!("/api/v1/namespaces/{ns}/pods");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return anyhow::Ok(latencies);
                    }
                    let sent = Instant::now();
                    api.expect(Method::POST, &path, Some(&pod(&format!("p{i:06}"))))
                        .await?;
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let creates_per_s = args.creates as f64 / started.elapsed().as_secs_f64();
    eprintln!(
        "api: {} creates by {} clients: {creates_per_s:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        args.creates,
        args.clients,
        percentile::millis(&mut latencies, 50.0),
        percentile::millis(&mut latencies, 99.0)
    );

    // 2. Latency at a fixed rate, open loop.
    let rate_ns = namespace(&api, "bench-rate").await?;
    let total = (args.rate * args.rate_seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let start = tokio::time::Instant::now();
    let mut requests = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let (api, path) = (api.clone(), format!("/api/v1/namespaces/{rate_ns}/pods"));
        requests.push(tokio::spawn(async move {
            let sent = Instant::now();
            api.expect(Method::POST, &path, Some(&pod(&format!("r{i:06}"))))
                .await?;
            anyhow::Ok(sent.elapsed())
        }));
    }
    let mut rate_latencies = Vec::with_capacity(total);
    for request in requests {
        rate_latencies.push(request.await??);
    }
    let achieved = total as f64 / start.elapsed().as_secs_f64();
    let create_p99_ms = percentile::millis(&mut rate_latencies, 99.0);
    eprintln!(
        "api: {total} creates at {} /s (achieved {achieved:.0}/s): p50 {:.2} ms, p99 {create_p99_ms:.2} ms",
        args.rate,
        percentile::millis(&mut rate_latencies, 50.0)
    );

    // 3. The full list.
    let mut list_times = Vec::new();
    for _ in 0..args.list_runs.max(1) {
        let sent = Instant::now();
        let body = api
            .expect(Method::GET, &format!("/api/v1/namespaces/{ns}/pods"), None)
            .await?;
        list_times.push(sent.elapsed());
        let list: Value = serde_json::from_slice(&body)?;
        let items = list["items"].as_array().map_or(0, Vec::len);
        if items != args.creates {
            bail!("the list returned {items} pods, expected {}", args.creates);
        }
    }
    let list_ms = percentile::millis(&mut list_times, 50.0);
    eprintln!(
        "api: list of {} pods: {list_ms:.1} ms (median of {})",
        args.creates,
        list_times.len()
    );

    // 4. Watch fan-out.
    let (watch_p99_ms, delivered) = fan_out(&api, &args).await?;
    eprintln!(
        "api: {} watchers x {} events: {delivered} deliveries, p99 lag {watch_p99_ms:.2} ms",
        args.watchers,
        args.events_per_s * args.watch_seconds
    );

    println!(
        "api creates_per_s={creates_per_s:.0} create_p99_ms={create_p99_ms:.2} list10k_ms={list_ms:.1} watch_p99_ms={watch_p99_ms:.2} watchers={}",
        args.watchers
    );
    Ok(())
}

async fn fan_out(api: &Api, args: &Args) -> anyhow::Result<(f64, usize)> {
    let ns = namespace(api, "bench-watch").await?;
    let list = api
        .expect(
            Method::GET,
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            None,
        )
        .await?;
    let rv = serde_json::from_slice::<Value>(&list)?["metadata"]["resourceVersion"]
        .as_str()
        .context("the list has no resourceVersion")?
        .to_owned();
    let events = (args.events_per_s * args.watch_seconds) as usize;
    let base = Instant::now();
    let path = format!(
        "/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=600"
    );
    let mut watchers = Vec::with_capacity(args.watchers);
    for _ in 0..args.watchers {
        let body = api.stream(&path).await?;
        watchers.push(tokio::spawn(watch_until(body, events, base)));
    }
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.events_per_s.max(1)));
    let start = tokio::time::Instant::now();
    for i in 0..events {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let sent = base.elapsed().as_nanos().to_string();
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("e{i:06}"), "annotations": {"bench/sent-ns": sent}}});
        api.expect(
            Method::POST,
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            Some(&body),
        )
        .await?;
    }
    let mut lags = Vec::with_capacity(events * args.watchers);
    for watcher in watchers {
        lags.extend(
            tokio::time::timeout(Duration::from_secs(120), watcher)
                .await
                .context("a watcher fell behind by two minutes")???,
        );
    }
    let delivered = lags.len();
    Ok((percentile::millis(&mut lags, 99.0), delivered))
}

/// Reads watch events until `events` ADDED events arrived; returns each one's lag.
async fn watch_until(
    mut body: hyper::body::Incoming,
    events: usize,
    base: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let mut lags = Vec::with_capacity(events);
    let mut buffer: Vec<u8> = Vec::new();
    while lags.len() < events {
        let Some(frame) = body.frame().await else {
            bail!("the watch ended after {} of {events} events", lags.len());
        };
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line)?;
            if event["type"] != "ADDED" {
                continue;
            }
            let sent: u64 = event["object"]["metadata"]["annotations"]["bench/sent-ns"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .context("an event without its send time")?;
            lags.push(base.elapsed().saturating_sub(Duration::from_nanos(sent)));
        }
    }
    Ok(lags)
}
