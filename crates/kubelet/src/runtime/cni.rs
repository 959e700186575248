//! The node's CNI network: a bridge with host-local IPAM on the node's pod CIDR, port mapping
//! for `hostPort`, and loopback, written where containerd's CRI plugin looks for it. The range
//! is given to the node, or read from its Node object once the controller manager's IPAM has
//! allocated it (containerd reloads the configuration directory when it changes).

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::{WatchStreamExt, watcher};
use std::path::PathBuf;
use tokio::sync::watch;

/// Where and as what the node's network is configured.
#[derive(Debug, Clone)]
pub struct NodeNetwork {
    /// The network's name; distinct per containerd on one machine, since CNI keeps its cache
    /// under `/var/lib/cni` whatever containerd's own directories are.
    pub name: String,
    /// The Linux bridge (at most 15 characters).
    pub bridge: String,
    /// containerd's CNI configuration directory.
    pub conf_dir: PathBuf,
    /// Where host-local IPAM records the addresses it hands out.
    pub ipam_dir: PathBuf,
    /// Whether the bridge plugin masquerades pods' traffic leaving the node's range (when
    /// nothing else masquerades traffic leaving the cluster's).
    pub masquerade: bool,
}

impl NodeNetwork {
    /// The conflist JSON for the pod range `pod_cidr` (e.g. `10.42.0.0/24`).
    pub fn conflist(&self, pod_cidr: &str) -> serde_json::Value {
        serde_json::json!({
            "cniVersion": "1.0.0",
            "name": self.name,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": self.masquerade,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": self.ipam_dir,
                    }
                },
                {"type": "portmap", "capabilities": {"portMappings": true}},
                {"type": "loopback"}
            ]
        })
    }

    /// Writes the conflist as the only network in the configuration directory (containerd
    /// uses the first file in name order, so stale ones would win).
    pub fn write(&self, pod_cidr: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.conf_dir)?;
        for entry in std::fs::read_dir(&self.conf_dir)? {
            let path = entry?.path();
            if path
                .extension()
                .is_some_and(|e| e == "conflist" || e == "conf")
            {
                std::fs::remove_file(path)?;
            }
        }
        let text =
            serde_json::to_vec_pretty(&self.conflist(pod_cidr)).map_err(std::io::Error::other)?;
        std::fs::write(self.file(), text)
    }

    fn file(&self) -> PathBuf {
        self.conf_dir.join("10-gantry.conflist")
    }

    /// The pod range the written configuration holds, if any.
    pub fn written_cidr(&self) -> Option<String> {
        let text = std::fs::read(self.file()).ok()?;
        let list: serde_json::Value = serde_json::from_slice(&text).ok()?;
        list.pointer("/plugins/0/ipam/ranges/0/0/subnet")?
            .as_str()
            .map(str::to_owned)
    }
}

/// Waits for the Node `node` to get its `spec.podCIDR`, then writes the network for it (unless
/// it is written already). Ends once written, or when `stop` fires.
pub async fn follow_node(
    network: NodeNetwork,
    client: kube::Client,
    node: String,
    mut stop: watch::Receiver<bool>,
) {
    let api: kube::Api<Node> = kube::Api::all(client);
    let config = watcher::Config::default().fields(&format!("metadata.name={node}"));
    let stream = watcher(api, config).default_backoff().applied_objects();
    futures::pin_mut!(stream);
    tracing::info!(%node, "waiting for the node's pod range");
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = stop.changed() => return,
        };
        let Some(Ok(object)) = next else {
            continue;
        };
        let Some(cidr) = object.spec.and_then(|s| s.pod_cidr) else {
            continue;
        };
        if network.written_cidr().as_deref() == Some(cidr.as_str()) {
            return;
        }
        match network.write(&cidr) {
            Ok(()) => {
                tracing::info!(%node, %cidr, "wrote the pod network for the node's range");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "writing the CNI network configuration failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn network(dir: &Path) -> NodeNetwork {
        NodeNetwork {
            name: "gantry-n1".into(),
            bridge: "gantry1".into(),
            conf_dir: dir.to_owned(),
            ipam_dir: "/d/ipam".into(),
            masquerade: false,
        }
    }

    #[test]
    fn the_conflist_names_the_bridge_and_the_pod_cidr() {
        let list = network(Path::new("/x")).conflist("10.42.7.0/24");
        assert_eq!(list["name"], "gantry-n1");
        assert_eq!(list["plugins"][0]["bridge"], "gantry1");
        assert_eq!(
            list["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.42.7.0/24"
        );
        assert_eq!(list["plugins"][0]["ipam"]["dataDir"], "/d/ipam");
        assert_eq!(list["plugins"][0]["ipMasq"], false);
    }

    #[test]
    fn writing_replaces_other_networks_and_reads_back_its_range() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("05-old.conflist"), "{}").unwrap();
        let network = network(dir.path());
        assert_eq!(network.written_cidr(), None);
        network.write("10.42.0.0/24").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["10-gantry.conflist"]);
        assert_eq!(network.written_cidr().as_deref(), Some("10.42.0.0/24"));
    }
}
