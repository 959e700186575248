//! A network namespace per simulated machine, so that a node agent inside it has its own
//! interfaces, bridge, routes, nftables and pod network, and reaches an API server listening on
//! the host: alone (`gantry-e2e-<i>`, joined to the host by a veth pair on `10.199.<i>.0/24`, the
//! host end `.1`, the machine `.2`), or several on one shared link ([`Lan`]).

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
        configure_machine(&name, &peer, &machine_ip, &host_ip);
        Self {
            name,
            host_ip,
            ip: machine_ip,
            host_link,
        }
    }
}

/// A shared link for several machines, as kind's nodes share a Docker network: a bridge on the
/// host (`gtlan<i>`, `10.198.<i>.1/24`) with each machine's veth on it (`10.198.<i>.<n+1>`), so
/// that the machines reach each other directly — what host-gw routing needs — and the host
/// (where the API server listens) is their gateway.
pub(crate) struct Lan {
    index: u8,
    bridge: String,
    /// The host's address on the link.
    pub(crate) host_ip: String,
}

impl Lan {
    /// Creates link `index` (unique per test), replacing what an earlier run may have left.
    pub(crate) fn create(index: u8) -> Self {
        let bridge = format!("gtlan{index}");
        ip(&["link", "delete", &bridge]);
        let host_ip = format!("10.198.{index}.1");
        must(&["link", "add", &bridge, "type", "bridge"]);
        must(&["addr", "add", &format!("{host_ip}/24"), "dev", &bridge]);
        must(&["link", "set", &bridge, "up"]);
        Self {
            index,
            bridge,
            host_ip,
        }
    }

    /// Creates machine `n` (from 1) on the link.
    pub(crate) fn machine(&self, n: u8) -> NetNs {
        let name = format!("gantry-lan{}-{n}", self.index);
        let host_link = format!("gl{}m{n}", self.index);
        remove(&name, &host_link);
        let machine_ip = format!("10.198.{}.{}", self.index, n + 1);
        let peer = format!("{host_link}p");
        must(&["netns", "add", &name]);
        must(&[
            "link", "add", &host_link, "type", "veth", "peer", "name", &peer,
        ]);
        must(&["link", "set", &peer, "netns", &name]);
        must(&["link", "set", &host_link, "master", &self.bridge]);
        must(&["link", "set", &host_link, "up"]);
        configure_machine(&name, &peer, &machine_ip, &self.host_ip);
        NetNs {
            name,
            host_ip: self.host_ip.clone(),
            ip: machine_ip,
            host_link,
        }
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        ip(&["link", "delete", &self.bridge]);
    }
}

impl NetNs {
    /// Cuts the machine's link (a network partition), or restores it.
    pub(crate) fn set_link(&self, up: bool) {
        must(&[
            "link",
            "set",
            &self.host_link,
            if up { "up" } else { "down" },
        ]);
    }
}

/// Inside machine `name`: loopback up, `peer` renamed `eth0` with `ip/24`, default route via
/// `gateway`.
fn configure_machine(name: &str, peer: &str, ip_address: &str, gateway: &str) {
    must(&["-n", name, "link", "set", "lo", "up"]);
    must(&["-n", name, "link", "set", peer, "name", "eth0"]);
    must(&[
        "-n",
        name,
        "addr",
        "add",
        &format!("{ip_address}/24"),
        "dev",
        "eth0",
    ]);
    must(&["-n", name, "link", "set", "eth0", "up"]);
    must(&["-n", name, "route", "add", "default", "via", gateway]);
}

impl Drop for NetNs {
    fn drop(&mut self) {
        remove(&self.name, &self.host_link);
    }
}
