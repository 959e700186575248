//! How pods find the DNS server: the `kube-system/kube-dns` Service on the well-known cluster IP
//! (which the kubelet writes into pods' resolv.conf), without a selector, and one EndpointSlice
//! per node naming that node's server. The Service keeps traffic on the pod's own node
//! (`internalTrafficPolicy: Local`), so every node answers its own pods and a dead node's
//! server is never asked.

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use std::net::Ipv4Addr;

/// The Service's namespace and name (upstream's and k3s' names, which tools look for).
pub const NAMESPACE: &str = "kube-system";
/// The Service's name.
pub const SERVICE: &str = "kube-dns";
/// Who manages the per-node slices (so that the EndpointSlice controller leaves them alone).
const MANAGER: &str = "gantry-dns";

/// Creates the Service if it is missing. A Service of that name made by someone else (a
/// CoreDNS deployment, say) is left as it is.
pub async fn ensure_service(client: &kube::Client, cluster_ip: Ipv4Addr) -> anyhow::Result<()> {
    let api: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let service: Service = serde_json::from_value(json!({
        "metadata": {
            "name": SERVICE,
            "namespace": NAMESPACE,
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS",
                       "kubernetes.io/cluster-service": "true"},
        },
        "spec": {
            "clusterIP": cluster_ip.to_string(),
            "clusterIPs": [cluster_ip.to_string()],
            "internalTrafficPolicy": "Local",
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }))?;
    match api.create(&PostParams::default(), &service).await {
        Ok(_) => {
            tracing::info!(%cluster_ip, "created the kube-dns Service");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "creating the kube-dns Service on {cluster_ip}: {e}"
        )),
    }
}

/// The name of node `node`'s slice.
pub fn slice_name(node: &str) -> String {
    format!("{SERVICE}-{node}")
}

/// Writes the slice naming this node's server (`ip:port`), owned by the Node so that it goes
/// with it.
pub async fn publish(
    client: &kube::Client,
    node: &str,
    ip: Ipv4Addr,
    port: u16,
) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let owner = nodes.get(node).await?;
    let slice: EndpointSlice = serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name(node),
            "namespace": NAMESPACE,
            "labels": {
                "kubernetes.io/service-name": SERVICE,
                "endpointslice.kubernetes.io/managed-by": MANAGER,
            },
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "Node", "name": node,
                "uid": owner.metadata.uid,
            }],
        },
        "addressType": "IPv4",
        "endpoints": [{
            "addresses": [ip.to_string()],
            "conditions": {"ready": true, "serving": true, "terminating": false},
            "nodeName": node,
        }],
        "ports": [
            {"name": "dns", "port": port, "protocol": "UDP"},
            {"name": "dns-tcp", "port": port, "protocol": "TCP"},
        ],
    }))?;
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), NAMESPACE);
    let params = PatchParams::apply(MANAGER).force();
    api.patch(&slice_name(node), &params, &Patch::Apply(&slice))
        .await?;
    Ok(())
}

/// Removes this node's slice (the server is stopping).
pub async fn withdraw(client: &kube::Client, node: &str) {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), NAMESPACE);
    match api
        .delete(&slice_name(node), &DeleteParams::default())
        .await
    {
        Ok(_) | Err(kube::Error::Api(_)) => {}
        Err(e) => tracing::warn!(error = %e, "could not withdraw the node's DNS endpoint"),
    }
}
