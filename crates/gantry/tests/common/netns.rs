//! A network namespace per simulated machine: `gantry-e2e-<i>`, joined to the host by a veth
//! pair on `10.199.<i>.0/24` (the host end `.1`, the machine `.2`, its default route through
//! the host), so that a node agent inside it has its own interfaces, bridge and pod network,
//! and reaches an API server listening on the host.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::process::Command;

/// A network namespace; deleted, with every process still in it, on drop.
pub(crate) struct NetNs {
    /// Its name, for `ip netns exec`.
    pub(crate) name: String,
    /// The host's address on the link (where the API server is reached).
    pub(crate) host_ip: String,
    /// The machine's address.
    pub(crate) ip: String,
    host_link: String,
}

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip").args(args).output().unwrap()
}

fn must(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills every process in the namespace `name` and deletes it (and a host link).
fn remove(name: &str, host_link: &str) {
    let pids = ip(&["netns", "pids", name]);
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    ip(&["netns", "delete", name]);
    ip(&["link", "delete", host_link]);
}

impl NetNs {
    /// Creates machine `index` (unique per test, since tests run at once), replacing what an
    /// earlier run may have left.
    pub(crate) fn create(index: u8) -> Self {
        let name = format!("gantry-e2e-{index}");
        let host_link = format!("gtns{index}");
        remove(&name, &host_link);
        let (host_ip, machine_ip) = (format!("10.199.{index}.1"), format!("10.199.{index}.2"));
        let peer = format!("{host_link}p");
        must(&["netns", "add", &name]);
        must(&[
            "link", "add", &host_link, "type", "veth", "peer", "name", &peer,
        ]);
        must(&["link", "set", &peer, "netns", &name]);
        must(&["addr", "add", &format!("{host_ip}/24"), "dev", &host_link]);
        must(&["link", "set", &host_link, "up"]);
        must(&["-n", &name, "link", "set", "lo", "up"]);
        must(&["-n", &name, "link", "set", &peer, "name", "eth0"]);
        must(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{machine_ip}/24"),
            "dev",
            "eth0",
        ]);
        must(&["-n", &name, "link", "set", "eth0", "up"]);
        must(&["-n", &name, "route", "add", "default", "via", &host_ip]);
        Self {
            name,
            host_ip,
            ip: machine_ip,
            host_link,
        }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        remove(&self.name, &self.host_link);
    }
}
