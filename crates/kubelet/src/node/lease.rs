//! The node's heartbeat: a `Lease` named after the node in `kube-node-lease`, renewed every
//! quarter of its duration (upstream: 40 s lease, renewed every 10 s) and owned by the Node so
//! it goes when the Node does.

use crate::clock;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

/// The namespace of node leases.
pub const NAMESPACE: &str = "kube-node-lease";
/// Upstream's node lease duration.
pub const DURATION_SECONDS: i32 = 40;

/// How often the lease is renewed: a quarter of its duration, as upstream.
pub fn renew_interval() -> Duration {
    Duration::from_secs(u64::try_from(DURATION_SECONDS / 4).unwrap_or(10))
}

/// Renews (creating if needed) the lease of `node`.
pub async fn renew(client: &kube::Client, node: &str) -> Result<(), kube::Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), NAMESPACE);
    let now = clock::now_micro();
    let patch = json!({"spec": {"holderIdentity": node, "leaseDurationSeconds": DURATION_SECONDS, "renewTime": now}});
    match leases
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            let owner = Api::<Node>::all(client.clone()).get(node).await?;
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {
                    "name": node,
                    "namespace": NAMESPACE,
                    "ownerReferences": [{
                        "apiVersion": "v1",
                        "kind": "Node",
                        "name": node,
                        "uid": owner.metadata.uid,
                    }],
                },
                "spec": {
                    "holderIdentity": node,
                    "leaseDurationSeconds": DURATION_SECONDS,
                    "renewTime": now,
                },
            }))
            .map_err(kube::Error::SerdeError)?;
            leases
                .create(&PostParams::default(), &lease)
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    }
}
