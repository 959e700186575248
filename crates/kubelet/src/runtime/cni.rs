//! The node's CNI network: a bridge with host-local IPAM on the node's pod CIDR, port mapping
//! for `hostPort`, and loopback, written where containerd's CRI plugin looks for it.

use std::path::Path;

/// What the node's conflist says.
#[derive(Debug, Clone)]
pub struct CniNetwork {
    /// The network's name; distinct per containerd on one machine, since CNI keeps its cache
    /// under `/var/lib/cni` whatever containerd's own directories are.
    pub name: String,
    /// The Linux bridge (at most 15 characters).
    pub bridge: String,
    /// The pod CIDR, e.g. `10.42.0.0/24`.
    pub pod_cidr: String,
}

impl CniNetwork {
    /// The conflist JSON.
    pub fn conflist(&self, ipam_dir: &Path) -> serde_json::Value {
        serde_json::json!({
            "cniVersion": "1.0.0",
            "name": self.name,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": true,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": ipam_dir,
                    }
                },
                {"type": "portmap", "capabilities": {"portMappings": true}},
                {"type": "loopback"}
            ]
        })
    }

    /// Writes the conflist as the only network in `conf_dir` (containerd uses the first file
    /// in name order, so stale ones would win).
    pub fn write(&self, conf_dir: &Path, ipam_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(conf_dir)?;
        for entry in std::fs::read_dir(conf_dir)? {
            let path = entry?.path();
            if path
                .extension()
                .is_some_and(|e| e == "conflist" || e == "conf")
            {
                std::fs::remove_file(path)?;
            }
        }
        let text =
            serde_json::to_vec_pretty(&self.conflist(ipam_dir)).map_err(std::io::Error::other)?;
        std::fs::write(conf_dir.join("10-gantry.conflist"), text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conflist_names_the_bridge_and_the_pod_cidr() {
        let network = CniNetwork {
            name: "gantry-n1".into(),
            bridge: "gantry1".into(),
            pod_cidr: "10.42.7.0/24".into(),
        };
        let list = network.conflist(Path::new("/d/ipam"));
        assert_eq!(list["name"], "gantry-n1");
        assert_eq!(list["plugins"][0]["bridge"], "gantry1");
        assert_eq!(
            list["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.42.7.0/24"
        );
        assert_eq!(list["plugins"][0]["ipam"]["dataDir"], "/d/ipam");
    }

    #[test]
    fn writing_replaces_other_networks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("05-old.conflist"), "{}").unwrap();
        let network = CniNetwork {
            name: "n".into(),
            bridge: "b".into(),
            pod_cidr: "10.42.0.0/24".into(),
        };
        network.write(dir.path(), Path::new("/x")).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["10-gantry.conflist"]);
    }
}
