//! host-gw routing (flannel's backend of that name): every other node's pod range is reached
//! through that node's address, which must share a link with this node. The routes are read
//! from the Node objects — `spec.podCIDR` and the `InternalIP` address — and kept in the
//! kernel's main table through netlink, marked with a protocol number of their own so that
//! routes this node did not make are never touched.

use futures::TryStreamExt;
use gantry_api::cidr::Ipv4Cidr;
use k8s_openapi::api::core::v1::Node;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol};
use rtnetlink::RouteMessageBuilder;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The routing protocol number Gantry's routes carry (`ip route show proto 71`).
pub const PROTOCOL: u8 = 71;

/// The routes this node wants: each other node's pod range → that node's address.
pub fn desired<'a>(
    nodes: impl IntoIterator<Item = &'a Node>,
    this_node: &str,
) -> BTreeMap<Ipv4Cidr, Ipv4Addr> {
    let mut routes = BTreeMap::new();
    for node in nodes {
        if node.metadata.name.as_deref() == Some(this_node) {
            continue;
        }
        let cidr = node
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_deref())
            .and_then(|c| c.parse::<Ipv4Cidr>().ok());
        let address = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .filter(|a| a.type_ == "InternalIP")
            .find_map(|a| a.address.parse::<Ipv4Addr>().ok());
        if let (Some(cidr), Some(address)) = (cidr, address) {
            routes.insert(cidr, address);
        }
    }
    routes
}

/// The kernel's routing table, through netlink.
#[derive(Debug, Clone)]
pub struct Kernel {
    handle: rtnetlink::Handle,
}

impl Kernel {
    /// Opens a netlink connection (its task runs on the current runtime).
    pub fn connect() -> std::io::Result<Self> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// The routes in the main table that carry Gantry's protocol number.
    pub async fn ours(&self) -> Result<BTreeMap<Ipv4Cidr, Ipv4Addr>, rtnetlink::Error> {
        let dump = RouteMessageBuilder::<Ipv4Addr>::new().build();
        let messages: Vec<RouteMessage> = self
            .handle
            .route()
            .get(dump)
            .execute()
            .try_collect()
            .await?;
        Ok(messages
            .iter()
            .filter(|m| m.header.protocol == RouteProtocol::Other(PROTOCOL))
            .filter_map(|m| {
                let mut destination = None;
                let mut gateway = None;
                for attribute in &m.attributes {
                    match attribute {
                        RouteAttribute::Destination(RouteAddress::Inet(ip)) => {
                            destination = Some(*ip)
                        }
                        RouteAttribute::Gateway(RouteAddress::Inet(ip)) => gateway = Some(*ip),
                        _ => {}
                    }
                }
                let cidr = Ipv4Cidr::new(destination?, m.header.destination_prefix_length)?;
                Some((cidr, gateway?))
            })
            .collect())
    }

    fn message(cidr: Ipv4Cidr, gateway: Ipv4Addr) -> RouteMessage {
        RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(cidr.network(), cidr.prefix())
            .gateway(gateway)
            .protocol(RouteProtocol::Other(PROTOCOL))
            .build()
    }

    /// Adds the route, or replaces the one to the same range.
    pub async fn replace(&self, cidr: Ipv4Cidr, gateway: Ipv4Addr) -> Result<(), rtnetlink::Error> {
        self.handle
            .route()
            .add(Self::message(cidr, gateway))
            .replace()
            .execute()
            .await
    }

    /// Removes the route.
    pub async fn delete(&self, cidr: Ipv4Cidr, gateway: Ipv4Addr) -> Result<(), rtnetlink::Error> {
        self.handle
            .route()
            .del(Self::message(cidr, gateway))
            .execute()
            .await
    }

    /// Makes the kernel's routes of Gantry's protocol exactly `wanted`.
    pub async fn sync(&self, wanted: &BTreeMap<Ipv4Cidr, Ipv4Addr>) -> anyhow::Result<()> {
        let present = self.ours().await?;
        for (cidr, gateway) in wanted {
            if present.get(cidr) != Some(gateway) {
                self.replace(*cidr, *gateway).await.map_err(|e| {
                    anyhow::anyhow!("adding the route to {cidr} via {gateway}: {e}")
                })?;
                tracing::info!(%cidr, %gateway, "added the route to a node's pods");
            }
        }
        for (cidr, gateway) in present {
            if !wanted.contains_key(&cidr) {
                self.delete(cidr, gateway)
                    .await
                    .map_err(|e| anyhow::anyhow!("removing the route to {cidr}: {e}"))?;
                tracing::info!(%cidr, "removed the route to a gone node's pods");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, cidr: Option<&str>, ip: Option<&str>) -> Node {
        let addresses: Vec<_> = ip
            .into_iter()
            .map(|ip| json!({"type": "InternalIP", "address": ip}))
            .chain([json!({"type": "Hostname", "address": name})])
            .collect();
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": addresses},
        }))
        .unwrap()
    }

    #[test]
    fn every_other_node_with_a_range_and_an_address_gets_a_route() {
        let nodes = [
            node("a", Some("10.42.0.0/24"), Some("192.0.2.1")),
            node("b", Some("10.42.1.0/24"), Some("192.0.2.2")),
            node("c", None, Some("192.0.2.3")),
            node("d", Some("10.42.3.0/24"), None),
        ];
        let routes = desired(&nodes, "a");
        let listed: Vec<String> = routes.iter().map(|(c, g)| format!("{c} via {g}")).collect();
        assert_eq!(listed, ["10.42.1.0/24 via 192.0.2.2"]);
    }
}
