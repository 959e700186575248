//! `gantry agent` as a process: a worker node joined to a server, on the host or inside a
//! network namespace of its own; killed (and its runtime with it) on drop.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use super::kill_runtime_leftovers;
use super::netns::NetNs;
use super::node::images;
use std::path::{Path, PathBuf};

/// Where and as what a node runs.
pub(crate) struct NodeSpec<'a> {
    pub(crate) name: &'a str,
    pub(crate) bridge: &'a str,
    /// Its pod range (`None`: the one the controller manager allocates).
    pub(crate) pod_cidr: Option<&'a str>,
    /// The cluster's pod range, for its proxy (`None`: the default).
    pub(crate) cluster_cidr: Option<&'a str>,
    /// More `gantry agent` flags.
    pub(crate) extra_args: &'a [&'a str],
    /// The machine it runs in (none: the host).
    pub(crate) netns: Option<&'a NetNs>,
}

/// A running `gantry agent`.
pub(crate) struct Agent {
    child: Option<std::process::Child>,
    data_dir: PathBuf,
}

impl Agent {
    /// Starts a node joining the API server at `server` with `token`, logging to
    /// `<data_dir>/agent.log`.
    pub(crate) fn start(server: &str, token: &str, data_dir: &Path, node: &NodeSpec<'_>) -> Self {
        std::fs::create_dir_all(data_dir).unwrap();
        let images = images().to_str().unwrap().to_owned();
        let log = std::fs::File::create(data_dir.join("agent.log")).unwrap();
        let mut command = match node.netns {
            // `nsenter` switches only the network namespace (`ip netns exec` would also remount
            // /sys, hiding the cgroup file system the runtime needs).
            Some(netns) => {
                let mut c = std::process::Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{}", netns.name));
                c.args(["--", env!("CARGO_BIN_EXE_gantry")]);
                c.args(["agent", "--node-ip", &netns.ip]);
                c
            }
            None => {
                let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"));
                // On the host, beside other tests' nodes: no proxy (see `start_node_with`).
                c.args(["agent", "--disable-kube-proxy", "--flannel-backend", "none"]);
                c.args(["--disable", "coredns"]);
                c
            }
        };
        if let Some(cidr) = node.pod_cidr {
            command.args(["--pod-cidr", cidr]);
        }
        if let Some(cidr) = node.cluster_cidr {
            command.args(["--cluster-cidr", cidr]);
        }
        let child = command
            .args(["--server", server, "--token", token, "--data-dir"])
            .arg(data_dir)
            .args(["--node-name", node.name, "--cni-bridge", node.bridge])
            .args(["--kubelet-port", "0"])
            .args(node.extra_args)
            .args(["--images-dir", &images])
            .env("NO_COLOR", "1")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self {
            child: Some(child),
            data_dir: data_dir.to_owned(),
        }
    }

    /// What the agent printed so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("agent.log")).unwrap_or_default()
    }

    /// Waits (up to a minute) until the agent has printed `node <name> Ready`; panics with its
    /// log otherwise.
    pub(crate) fn wait_until_ready(&self, name: &str) {
        let line = format!("node {name} Ready");
        let found = super::poll_for(std::time::Duration::from_secs(60), || {
            if self.log().contains(&line) {
                "yes".into()
            } else {
                String::new()
            }
        });
        assert!(!found.is_empty(), "never {line:?}:\n{}", self.log());
    }

    /// Kills the agent alone (SIGKILL): its containers keep running, as after a crash.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the agent with SIGTERM and checks that it exits cleanly.
    pub(crate) fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
        kill_runtime_leftovers(&self.data_dir);
    }
}
