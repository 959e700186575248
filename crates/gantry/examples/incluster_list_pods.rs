//! A kube-rs program for running inside a pod (the in-cluster tests mount it into one): lists
//! the pods of its namespace with the in-cluster configuration (`Client::try_default()`: the
//! `KUBERNETES_SERVICE_*` variables, the mounted token and CA) and prints their names, or the
//! API's refusal (exit status 1).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    let namespace =
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")?;
    let pods: Api<Pod> = Api::namespaced(client, namespace.trim());
    match pods.list(&ListParams::default()).await {
        Ok(list) => {
            let names: Vec<String> = list
                .items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .collect();
            println!("pods: {}", names.join(" "));
            Ok(())
        }
        Err(kube::Error::Api(status)) => {
            println!("refused: {} {}", status.code, status.message);
            std::process::exit(1);
        }
        Err(e) => Err(e.into()),
    }
}
