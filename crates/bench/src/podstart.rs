//! `gantry-bench podstart`: how long a pod takes from its create request to `Running` as a
//! watch sees it, on a real node with the image present — one at a time and 10 at a time —
//! beside the runtime's own floor in the same run: `ctr run --rm` of the same image through
//! the node's containerd, and raw `runc run` of a bundle with the same content.

use crate::http::{Api, Target};
use crate::percentile;
use anyhow::{Context, bail};
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Flags of `gantry-bench podstart`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The API server's URL (plain http).
    #[arg(long)]
    server: Option<String>,
    /// A kubeconfig to take the server from.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The node the pods are bound to (`spec.nodeName`).
    #[arg(long)]
    node: String,
    /// The node's containerd socket, for the `ctr` floor.
    #[arg(
        long,
        default_value = "/var/lib/gantry/agent/containerd/containerd.sock"
    )]
    containerd_socket: PathBuf,
    /// Pods per phase (and runs of each floor).
    #[arg(long, default_value_t = 50)]
    pods: usize,
    /// Pods in flight at once in the parallel phase.
    #[arg(long, default_value_t = 10)]
    parallel: usize,
    /// The image (already present on the node).
    #[arg(long, default_value = "docker.io/library/busybox:1.36")]
    image: String,
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Instant>>>>;

/// Watches the namespace's pods and tells each waiter when its pod is first seen Running.
async fn watch_running(api: Api, namespace: String, waiters: Waiters) -> anyhow::Result<()> {
    let mut body = api
        .stream(&format!("/api/v1/namespaces/{namespace}/pods?watch=true"))
        .await?;
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line)?;
            if event["object"]["status"]["phase"] != "Running" {
                continue;
            }
            let name = event["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or_default();
            let waiter = waiters.lock().ok().and_then(|mut w| w.remove(name));
            if let Some(waiter) = waiter {
                let _ = waiter.send(Instant::now());
            }
        }
    }
    Ok(())
}

fn pod(name: &str, node: &str, image: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "podstart"}},
        // No ServiceAccount token: the anchors (containerd, runc) start bare containers, and
        // a cluster without a controller manager has no ServiceAccount or root CA to mount.
        "spec": {
            "nodeName": node,
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}],
        },
    })
}

/// Creates one pod and waits for the watch to see it Running.
async fn start_one(
    api: &Api,
    namespace: &str,
    name: String,
    args: &Args,
    waiters: &Waiters,
) -> anyhow::Result<Duration> {
    let (tx, rx) = oneshot::channel();
    waiters
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .insert(name.clone(), tx);
    let started = Instant::now();
    api.expect(
        Method::POST,
        &format!("/api/v1/namespaces/{namespace}/pods"),
        Some(&pod(&name, &args.node, &args.image)),
    )
    .await?;
    let running = tokio::time::timeout(Duration::from_secs(120), rx)
        .await
        .with_context(|| format!("pod {name} was not Running within 120 s"))??;
    Ok(running - started)
}

/// Deletes the phase's pods and waits until the node has released them all.
async fn clean(api: &Api, namespace: &str) -> anyhow::Result<()> {
    let pods = format!("/api/v1/namespaces/{namespace}/pods");
    api.expect(
        Method::DELETE,
        &format!("{pods}?gracePeriodSeconds=1"),
        None,
    )
    .await?;
    for _ in 0..600 {
        let list: Value = serde_json::from_slice(&api.expect(Method::GET, &pods, None).await?)?;
        if list["items"]
            .as_array()
            .is_none_or(|items| items.is_empty())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the node did not release the benchmark's pods within 120 s")
}

/// Times `runs` runs of a command (create, start, exit and removal of one container).
async fn floor(
    runs: usize,
    mut command: impl FnMut(usize) -> tokio::process::Command,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        let out = command(run).output().await?;
        if !out.status.success() {
            bail!(
                "the floor command failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// A runc bundle holding the busybox binary as `/bin/busybox`, `/bin/sleep` and `/bin/true`,
/// the content of the test image, running `true`.
fn runc_bundle(dir: &Path) -> anyhow::Result<()> {
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::copy("/bin/busybox", bin.join("busybox"))
        .context("copying /bin/busybox (busybox-static)")?;
    for applet in ["true", "sleep", "sh"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet))?;
    }
    let out = std::process::Command::new("runc")
        .arg("spec")
        .current_dir(dir)
        .output()
        .context("running runc spec")?;
    if !out.status.success() {
        bail!("runc spec failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let path = dir.join("config.json");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(["/bin/true"]);
    std::fs::write(&path, serde_json::to_vec(&spec)?)?;
    Ok(())
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::resolve(args.server.as_deref(), args.kubeconfig.as_deref())?;
    eprintln!(
        "podstart: {} pods on node {} through {}",
        args.pods, args.node, target.server
    );
    let api = Api::new(target)?;
    let namespace = format!("podstart-{:x}", fastrand::u32(..));
    api.expect(
        Method::POST,
        "/api/v1/namespaces",
        Some(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})),
    )
    .await?;
    let waiters: Waiters = Arc::default();
    let watch = tokio::spawn(watch_running(
        api.clone(),
        namespace.clone(),
        Arc::clone(&waiters),
    ));
    // The watch must be open before the first create.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut sequential = Vec::with_capacity(args.pods);
    for i in 0..args.pods {
        sequential.push(start_one(&api, &namespace, format!("seq-{i}"), &args, &waiters).await?);
    }
    clean(&api, &namespace).await?;
    let parallel = Arc::new(Mutex::new(Vec::with_capacity(args.pods)));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let args = Arc::new(args);
    let mut workers = Vec::new();
    for _ in 0..args.parallel.max(1) {
        let (api, namespace, waiters, parallel, next, args) = (
            api.clone(),
            namespace.clone(),
            Arc::clone(&waiters),
            Arc::clone(&parallel),
            Arc::clone(&next),
            Arc::clone(&args),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= args.pods {
                    return Ok::<_, anyhow::Error>(());
                }
                let took = start_one(&api, &namespace, format!("par-{i}"), &args, &waiters).await?;
                parallel
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push(took);
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    clean(&api, &namespace).await?;
    watch.abort();
    api.expect(
        Method::DELETE,
        &format!("/api/v1/namespaces/{namespace}"),
        None,
    )
    .await?;

    let socket = args.containerd_socket.clone();
    let image = args.image.clone();
    let mut ctr = floor(args.pods, |run| {
        let mut command = tokio::process::Command::new("ctr");
        command
            .arg("--address")
            .arg(&socket)
            .args(["--namespace", "k8s.io", "run", "--rm", &image])
            .arg(format!("podstart-floor-{}-{run}", std::process::id()))
            .arg("true");
        command
    })
    .await?;
    let bundle = tempfile::tempdir()?;
    runc_bundle(bundle.path())?;
    let mut runc = floor(args.pods, |run| {
        let mut command = tokio::process::Command::new("runc");
        command
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(format!("podstart-runc-{}-{run}", std::process::id()));
        command
    })
    .await?;

    let mut parallel = parallel
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let p50 = percentile::millis(&mut sequential, 50.0);
    let p99 = percentile::millis(&mut sequential, 99.0);
    let par_p50 = percentile::millis(&mut parallel, 50.0);
    let par_p99 = percentile::millis(&mut parallel, 99.0);
    let floor_ctr = percentile::millis(&mut ctr, 50.0);
    let floor_runc = percentile::millis(&mut runc, 50.0);
    println!(
        "podstart p50_ms={p50:.1} p99_ms={p99:.1} par{par}_p50_ms={par_p50:.1} par{par}_p99_ms={par_p99:.1} floor_ctr_ms={floor_ctr:.1} floor_runc_ms={floor_runc:.1} ratio_p50={:.2}",
        p50 / floor_ctr,
        par = args.parallel,
    );
    Ok(())
}
