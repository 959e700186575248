//! Masquerading for pods' traffic that leaves the cluster: from the cluster's pod range to
//! anywhere outside it, the source becomes the node's address (flannel's `ipMasq`). Traffic
//! between pods, on one node or across nodes, keeps its pod addresses.

use gantry_api::cidr::Ipv4Cidr;

/// The transaction that (re)creates the table `ip <table>` with the one rule.
pub fn script(table: &str, cluster: Ipv4Cidr) -> String {
    format!(
        "add table ip {table}\n\
         delete table ip {table}\n\
         add table ip {table}\n\
         add chain ip {table} postrouting {{ type nat hook postrouting priority 100; policy accept; }}\n\
         add rule ip {table} postrouting ip saddr {cluster} ip daddr != {cluster} ip daddr != 224.0.0.0/4 masquerade fully-random\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_traffic_leaving_the_cluster_range_is_masqueraded() {
        let text = script("gantry-net", "10.42.0.0/16".parse().unwrap());
        assert!(text.ends_with(
            "ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random\n"
        ));
        assert!(text.starts_with("add table ip gantry-net\ndelete table ip gantry-net\n"));
    }
}
