//! A containerd started by the node with Gantry's own configuration and directories, as k3s
//! does: its socket, root and state live under the node's data directory, its CRI plugin uses
//! the locally built pause image and the node's CNI network, and it stops with the node.
//!
//! Containers outlive a containerd restart (their shims keep them), which is what lets a
//! restarted node find its pods still running.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Where and how to run containerd.
#[derive(Debug, Clone)]
pub struct ContainerdSettings {
    /// Holds `config.toml`, `root/`, `state/`, the socket and `containerd.log`.
    pub dir: PathBuf,
    /// The image every sandbox runs (`sandbox_image`).
    pub sandbox_image: String,
    /// Where the node's conflist is.
    pub cni_conf_dir: PathBuf,
    /// Where the CNI plugin binaries are (Debian: `/usr/lib/cni`).
    pub cni_bin_dir: PathBuf,
}

impl ContainerdSettings {
    /// The gRPC socket containerd will listen on.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    /// containerd's `config.toml` (version 2, as containerd 1.6 reads it).
    pub fn config_toml(&self) -> String {
        let dir = self.dir.display();
        format!(
            r#"version = 2
root = "{dir}/root"
state = "{dir}/state"
# Snapshotters and tracing the node never uses: skipping them makes start-up quicker and quieter.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox}"
  # Without CAP_SYS_RESOURCE a sandbox cannot lower its OOM score below ours.
  restrict_oom_score_adj = true
  # exec, attach and port-forward streams: loopback, a free port.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
"#,
            socket = self.socket().display(),
            sandbox = self.sandbox_image,
            cni_bin = self.cni_bin_dir.display(),
            cni_conf = self.cni_conf_dir.display(),
        )
    }
}

/// A running containerd child process.
#[derive(Debug)]
pub struct Containerd {
    child: tokio::process::Child,
    socket: PathBuf,
}

impl Containerd {
    /// Writes the configuration, starts containerd and waits (up to 30 s) until its socket
    /// accepts connections.
    pub async fn start(settings: &ContainerdSettings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.dir)
            .with_context(|| format!("creating {}", settings.dir.display()))?;
        let config = settings.dir.join("config.toml");
        std::fs::write(&config, settings.config_toml())
            .with_context(|| format!("writing {}", config.display()))?;
        let socket = settings.socket();
        let pid_file = settings.dir.join("containerd.pid");
        stop_leftover(&pid_file, &config).await;
        // A socket left by a containerd that was killed would make the wait below pass early.
        let _ = std::fs::remove_file(&socket);
        let log_path = settings.dir.join("containerd.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let child = tokio::process::Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting containerd (is the containerd package installed?)")?;
        if let Some(pid) = child.id() {
            std::fs::write(&pid_file, pid.to_string())
                .with_context(|| format!("writing {}", pid_file.display()))?;
        }
        let mut containerd = Self { child, socket };
        containerd.wait_ready(&log_path).await?;
        Ok(containerd)
    }

    /// The socket clients connect to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    async fn wait_ready(&mut self, log_path: &Path) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "containerd exited with {status} during start-up; see {}",
                    log_path.display()
                );
            }
            if tokio::net::UnixStream::connect(&self.socket).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "containerd did not open {} within 30 s; see {}",
                    self.socket.display(),
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops containerd with SIGTERM (SIGKILL after 10 s). Running containers stay up.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!("containerd ignored SIGTERM for 10 s; killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// Stops the containerd a previous run of this node left behind (the node was killed, so it
/// could not stop its child): it holds the socket and the metadata database. Its containers
/// keep running; the new containerd picks them up.
async fn stop_leftover(pid_file: &Path, config: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return;
    };
    let ours = |pid: u32| {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.starts_with("containerd ") && cmdline.contains(&*config.to_string_lossy())
        })
    };
    if !ours(pid) {
        return;
    }
    tracing::info!(pid, "stopping the containerd a previous run left behind");
    let signal = |name: &'static str| async move {
        let _ = tokio::process::Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .await;
    };
    signal("-TERM").await;
    for _ in 0..100 {
        if !ours(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal("-KILL").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_points_containerd_at_the_nodes_directories() {
        let settings = ContainerdSettings {
            dir: PathBuf::from("/data/containerd"),
            sandbox_image: "registry.k8s.io/pause:3.10".into(),
            cni_conf_dir: PathBuf::from("/data/cni"),
            cni_bin_dir: PathBuf::from("/usr/lib/cni"),
        };
        let toml = settings.config_toml();
        for line in [
            r#"root = "/data/containerd/root""#,
            r#"address = "/data/containerd/containerd.sock""#,
            r#"sandbox_image = "registry.k8s.io/pause:3.10""#,
            r#"conf_dir = "/data/cni""#,
            "restrict_oom_score_adj = true",
        ] {
            assert!(toml.contains(line), "{line} missing from:\n{toml}");
        }
    }
}
