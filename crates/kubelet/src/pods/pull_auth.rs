//! Credentials for pulls from the pod's `imagePullSecrets` (`kubernetes.io/dockerconfigjson`
//! and the older `kubernetes.io/dockercfg`), matched to the image's registry host.

use crate::pods::env::secret_entries;
use crate::pods::worker::Worker;
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::Api;

/// The registry host of an image reference (`docker.io` when it names none).
pub fn registry_host(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// The host a docker config key names: `https://index.docker.io/v1/` → `docker.io`,
/// `localhost:5000` → itself.
fn key_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    if host == "index.docker.io" || host == "registry-1.docker.io" {
        "docker.io"
    } else {
        host
    }
}

/// The credentials in one docker config document for `host`.
pub fn find_auth(config: &serde_json::Value, host: &str) -> Option<cri::AuthConfig> {
    let auths = config.get("auths").unwrap_or(config).as_object()?;
    let (_, entry) = auths.iter().find(|(key, _)| key_host(key) == host)?;
    let text = |k: &str| {
        entry
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    Some(cri::AuthConfig {
        username: text("username"),
        password: text("password"),
        auth: text("auth"),
        // containerd parses this as a URL and refuses `host:port`; the credentials are already
        // matched to the registry here, so the address is left out.
        server_address: String::new(),
        identity_token: text("identitytoken"),
        registry_token: text("registrytoken"),
    })
}

impl Worker {
    /// The credentials the pod's pull secrets hold for `image`'s registry, if any.
    pub(crate) async fn pull_auth(&self, pod: &Pod, image: &str) -> Option<cri::AuthConfig> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(self.ctx.client.clone(), &namespace);
        let host = registry_host(image);
        for reference in pod
            .spec
            .iter()
            .flat_map(|s| s.image_pull_secrets.iter().flatten())
        {
            let Ok(Some(secret)) = secrets.get_opt(&reference.name).await else {
                continue;
            };
            let entries = secret_entries(&secret);
            let document = entries
                .get(".dockerconfigjson")
                .or_else(|| entries.get(".dockercfg"))
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok());
            if let Some(auth) = document.and_then(|d| find_auth(&d, host)) {
                return Some(auth);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_hosts_are_read_from_the_reference() {
        assert_eq!(registry_host("busybox:1.36"), "docker.io");
        assert_eq!(registry_host("library/busybox"), "docker.io");
        assert_eq!(
            registry_host("127.0.0.1:5000/busybox:1.36"),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_host("localhost/x"), "localhost");
        assert_eq!(
            registry_host("registry.k8s.io/pause:3.10"),
            "registry.k8s.io"
        );
    }

    #[test]
    fn credentials_match_by_host() {
        let config = json!({"auths": {
            "https://index.docker.io/v1/": {"username": "hub", "password": "p1"},
            "127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"}
        }});
        assert_eq!(find_auth(&config, "docker.io").unwrap().username, "hub");
        let local = find_auth(&config, "127.0.0.1:5000").unwrap();
        assert_eq!(local.auth, "dXNlcjpwYXNz");
        assert!(find_auth(&config, "quay.io").is_none());
    }
}
