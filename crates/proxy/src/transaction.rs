//! One nftables transaction (`nft -f`) taking the table from what it held to what it should
//! hold. The kernel applies a transaction whole or not at all, so packets never see a half-made
//! table.
//!
//! Two starting points: the ruleset this process applied last (an incremental sync writes only
//! what changed — chains whose rules differ, map elements added or removed, chains and sets that
//! appear or go — so it costs in proportion to the change), or only the names the kernel lists
//! (a full resync: at start, periodically and after a failure, every chain and map is rewritten
//! and what is not wanted is deleted). Affinity sets are never rewritten, so clients stay pinned
//! across syncs and restarts.

use crate::rules::Ruleset;
pub use gantry_network::nft::Listing;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the table holds before the transaction.
#[derive(Debug, Clone, Copy)]
pub enum Before<'a> {
    /// Exactly this ruleset (this process applied it).
    Applied(&'a Ruleset),
    /// Objects of these names, contents unknown.
    Listed(&'a Listing),
}

impl Before<'_> {
    fn has_chain(&self, name: &str) -> bool {
        match self {
            Self::Applied(r) => r.chains.contains_key(name),
            Self::Listed(l) => l.chains.contains(name),
        }
    }

    /// The chain's rules, when known.
    fn rules(&self, name: &str) -> Option<&[String]> {
        match self {
            Self::Applied(r) => r.chains.get(name).map(|c| c.rules.as_slice()),
            Self::Listed(_) => None,
        }
    }

    fn has_set(&self, name: &str) -> bool {
        match self {
            Self::Applied(r) => r.sets.contains_key(name),
            Self::Listed(l) => l.sets.contains(name),
        }
    }

    fn has_map(&self, name: &str) -> bool {
        match self {
            Self::Applied(r) => r.maps.contains_key(name),
            Self::Listed(l) => l.maps.contains(name),
        }
    }

    fn chain_names(&self) -> Vec<&str> {
        match self {
            Self::Applied(r) => r.chains.keys().map(String::as_str).collect(),
            Self::Listed(l) => l.chains.iter().map(String::as_str).collect(),
        }
    }

    fn set_names(&self) -> Vec<&str> {
        match self {
            Self::Applied(r) => r.sets.keys().map(String::as_str).collect(),
            Self::Listed(l) => l.sets.iter().map(String::as_str).collect(),
        }
    }

    fn map_names(&self) -> Vec<&str> {
        match self {
            Self::Applied(r) => r.maps.keys().map(String::as_str).collect(),
            Self::Listed(l) => l.maps.iter().map(String::as_str).collect(),
        }
    }
}

/// The commands taking the table `ip <table>` from `before` to `new`.
pub fn transaction(table: &str, before: Before<'_>, new: &Ruleset) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "add table ip {table}");

    // 1. New chains (empty), sets and maps, so that every rule below can name them.
    for (name, chain) in &new.chains {
        if !before.has_chain(name) {
            let _ = match chain.hook {
                Some(hook) => writeln!(out, "add chain ip {table} {name} {{ {hook} }}"),
                None => writeln!(out, "add chain ip {table} {name}"),
            };
        }
    }
    for (name, definition) in &new.sets {
        if !before.has_set(name) {
            let _ = writeln!(out, "add set ip {table} {name} {{ {definition} }}");
        }
    }
    for (name, map) in &new.maps {
        if !before.has_map(name) {
            let _ = writeln!(out, "add map ip {table} {name} {{ {} }}", map.kind);
        }
    }

    // 2. Chains whose rules changed (or are unknown) are rewritten; chains that go are emptied
    // first, so that nothing refers to what is deleted at the end.
    for (name, chain) in &new.chains {
        if before.rules(name) == Some(chain.rules.as_slice()) {
            continue;
        }
        if before.has_chain(name) {
            let _ = writeln!(out, "flush chain ip {table} {name}");
        }
        for rule in &chain.rules {
            let _ = writeln!(out, "add rule ip {table} {name} {rule}");
        }
    }
    let stale_chains: Vec<&str> = before
        .chain_names()
        .into_iter()
        .filter(|name| !new.chains.contains_key(*name))
        .collect();
    for name in &stale_chains {
        let _ = writeln!(out, "flush chain ip {table} {name}");
    }

    // 3. Map elements: removed or changed ones out, new or changed ones in.
    let no_elements = BTreeMap::new();
    for (name, map) in &new.maps {
        let old = match before {
            Before::Applied(r) => r.maps.get(name).map_or(&no_elements, |m| &m.elements),
            Before::Listed(_) => {
                if before.has_map(name) {
                    let _ = writeln!(out, "flush map ip {table} {name}");
                }
                &no_elements
            }
        };
        let gone: Vec<&str> = old
            .iter()
            .filter(|(key, verdict)| map.elements.get(*key) != Some(*verdict))
            .map(|(key, _)| key.as_str())
            .collect();
        if !gone.is_empty() {
            let _ = writeln!(
                out,
                "delete element ip {table} {name} {{ {} }}",
                gone.join(", ")
            );
        }
        let added: Vec<String> = map
            .elements
            .iter()
            .filter(|(key, verdict)| old.get(*key) != Some(*verdict))
            .map(|(key, verdict)| format!("{key} : {verdict}"))
            .collect();
        if !added.is_empty() {
            let _ = writeln!(
                out,
                "add element ip {table} {name} {{ {} }}",
                added.join(", ")
            );
        }
    }

    // 4. What is no longer wanted: maps first (their verdicts may name chains), then chains,
    // then sets (rules of the emptied chains named them).
    for name in before.map_names() {
        if !new.maps.contains_key(name) {
            let _ = writeln!(out, "delete map ip {table} {name}");
        }
    }
    for name in stale_chains {
        let _ = writeln!(out, "delete chain ip {table} {name}");
    }
    for name in before.set_names() {
        if !new.sets.contains_key(name) {
            let _ = writeln!(out, "delete set ip {table} {name}");
        }
    }
    out
}
