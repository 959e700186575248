//! nftables for the node's components: one `nft -f -` process per transaction (never one per
//! rule), listings of a table's objects, a table's removal, and the sysctls forwarded traffic
//! needs.

use anyhow::Context;
use std::collections::BTreeSet;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// The names of what a table holds (from `nft -j list table`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Chain names.
    pub chains: BTreeSet<String>,
    /// Set names.
    pub sets: BTreeSet<String>,
    /// Map names.
    pub maps: BTreeSet<String>,
}

/// Runs one nftables transaction; the kernel applies all of it or none of it.
pub async fn apply(script: &str) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running nft (is nftables installed?)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    if out.status.success() {
        Ok(())
    } else {
        anyhow::bail!(
            "nft refused the transaction: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    }
}

/// The names of the chains, sets and maps the table holds (none if there is no table).
pub async fn list(table: &str) -> anyhow::Result<Listing> {
    let out = tokio::process::Command::new("nft")
        .args(["-j", "list", "table", "ip", table])
        .output()
        .await
        .context("running nft (is nftables installed?)")?;
    if !out.status.success() {
        // No such table yet: nothing to keep or remove.
        return Ok(Listing::default());
    }
    let listing: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading nft's JSON listing")?;
    Ok(parse_listing(&listing))
}

/// Reads `nft -j list table`'s objects: `{"nftables": [{"chain": {"name": …}}, …]}`.
pub fn parse_listing(listing: &serde_json::Value) -> Listing {
    let mut names = Listing::default();
    let objects = listing.get("nftables").and_then(|v| v.as_array());
    for object in objects.into_iter().flatten() {
        for (kind, into) in [
            ("chain", &mut names.chains),
            ("set", &mut names.sets),
            ("map", &mut names.maps),
        ] {
            if let Some(name) = object
                .pointer(&format!("/{kind}/name"))
                .and_then(|n| n.as_str())
            {
                into.insert(name.to_owned());
            }
        }
    }
    names
}

/// Removes the table and every rule in it.
pub async fn remove_table(table: &str) -> anyhow::Result<()> {
    apply(&format!("add table ip {table}\ndelete table ip {table}\n")).await
}

/// Turns on what pod and service traffic needs: forwarding, and netfilter on bridged packets, so
/// that a pod's reply to a pod on the same bridge passes conntrack and is un-NATed (upstream's
/// kube-proxy requires the same of `br_netfilter`). A sysctl that cannot be written is
/// reported, not fatal: the node may be set up by other means.
pub fn enable_forwarding() {
    for (path, value) in [
        ("/proc/sys/net/ipv4/ip_forward", "1"),
        ("/proc/sys/net/bridge/bridge-nf-call-iptables", "1"),
    ] {
        if let Err(e) = std::fs::write(path, value) {
            tracing::warn!(%path, error = %e, "could not set a sysctl the node's network needs");
        }
    }
}
