//! The environment variables upstream's kubelet gives every container for the Services it may
//! reach (docker links' convention): for the pod's namespace's Services when the pod has
//! `enableServiceLinks` (the default), and always for the `kubernetes` Service of `default`.
//!
//! For a Service `web-api` on `10.43.0.7` with a port `http` 80/TCP: `WEB_API_SERVICE_HOST`,
//! `WEB_API_SERVICE_PORT`, `WEB_API_SERVICE_PORT_HTTP`, `WEB_API_PORT=tcp://10.43.0.7:80`,
//! `WEB_API_PORT_80_TCP`, `…_PROTO`, `…_PORT` and `…_ADDR`.

use k8s_openapi::api::core::v1::Service;
use std::collections::BTreeMap;

/// Where the API server's own Service lives, and its name.
const MASTER_NAMESPACE: &str = "default";
const MASTER_SERVICE: &str = "kubernetes";

fn env_name(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// The variables for `services` (all namespaces' may be given; the rules pick), sorted.
pub fn service_env<'a>(
    services: impl IntoIterator<Item = &'a Service>,
    namespace: &str,
    enable_links: bool,
) -> Vec<(String, String)> {
    // By name: a Service of the pod's namespace wins over `default/kubernetes`.
    let mut chosen: BTreeMap<String, &Service> = BTreeMap::new();
    for service in services {
        let Some(name) = service.metadata.name.as_deref() else {
            continue;
        };
        let ip = service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref());
        if matches!(ip, None | Some("" | "None")) {
            continue;
        }
        let ns = service.metadata.namespace.as_deref().unwrap_or_default();
        if ns == namespace && enable_links {
            chosen.insert(name.to_owned(), service);
        } else if ns == MASTER_NAMESPACE && name == MASTER_SERVICE {
            chosen.entry(name.to_owned()).or_insert(service);
        }
    }
    let mut env = Vec::new();
    for (name, service) in chosen {
        let spec = service.spec.clone().unwrap_or_default();
        let ip = spec.cluster_ip.unwrap_or_default();
        let prefix = env_name(&name);
        let ports = spec.ports.unwrap_or_default();
        env.push((format!("{prefix}_SERVICE_HOST"), ip.clone()));
        if let Some(first) = ports.first() {
            env.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
        }
        for port in &ports {
            if let Some(port_name) = port.name.as_deref().filter(|n| !n.is_empty()) {
                env.push((
                    format!("{prefix}_SERVICE_PORT_{}", env_name(port_name)),
                    port.port.to_string(),
                ));
            }
        }
        for (i, port) in ports.iter().enumerate() {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            let lower = protocol.to_ascii_lowercase();
            let url = format!("{lower}://{ip}:{}", port.port);
            if i == 0 {
                env.push((format!("{prefix}_PORT"), url.clone()));
            }
            let base = format!(
                "{prefix}_PORT_{}_{}",
                port.port,
                protocol.to_ascii_uppercase()
            );
            env.push((base.clone(), url));
            env.push((format!("{base}_PROTO"), lower));
            env.push((format!("{base}_PORT"), port.port.to_string()));
            env.push((format!("{base}_ADDR"), ip.clone()));
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(namespace: &str, name: &str, spec: serde_json::Value) -> Service {
        serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": namespace}, "spec": spec}),
        )
        .unwrap()
    }

    fn get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_service_gives_docker_link_variables() {
        let web = service(
            "shop",
            "web-api",
            json!({"clusterIP": "10.43.0.7", "ports": [
                {"name": "http", "port": 80},
                {"name": "dns-udp", "port": 53, "protocol": "UDP"}]}),
        );
        let env = service_env([&web], "shop", true);
        assert_eq!(get(&env, "WEB_API_SERVICE_HOST"), Some("10.43.0.7"));
        assert_eq!(get(&env, "WEB_API_SERVICE_PORT"), Some("80"));
        assert_eq!(get(&env, "WEB_API_SERVICE_PORT_HTTP"), Some("80"));
        assert_eq!(get(&env, "WEB_API_SERVICE_PORT_DNS_UDP"), Some("53"));
        assert_eq!(get(&env, "WEB_API_PORT"), Some("tcp://10.43.0.7:80"));
        assert_eq!(get(&env, "WEB_API_PORT_53_UDP"), Some("udp://10.43.0.7:53"));
        assert_eq!(get(&env, "WEB_API_PORT_53_UDP_PROTO"), Some("udp"));
        assert_eq!(get(&env, "WEB_API_PORT_80_TCP_PORT"), Some("80"));
        assert_eq!(get(&env, "WEB_API_PORT_80_TCP_ADDR"), Some("10.43.0.7"));
    }

    #[test]
    fn only_the_namespace_and_the_api_servers_own_service_count() {
        let kubernetes = service(
            "default",
            "kubernetes",
            json!({"clusterIP": "10.43.0.1", "ports": [{"name": "https", "port": 443}]}),
        );
        let elsewhere = service(
            "other",
            "db",
            json!({"clusterIP": "10.43.0.9", "ports": [{"port": 5432}]}),
        );
        let headless = service(
            "shop",
            "peers",
            json!({"clusterIP": "None", "ports": [{"port": 7000}]}),
        );
        let env = service_env([&kubernetes, &elsewhere, &headless], "shop", true);
        assert_eq!(get(&env, "KUBERNETES_SERVICE_HOST"), Some("10.43.0.1"));
        assert_eq!(get(&env, "KUBERNETES_SERVICE_PORT_HTTPS"), Some("443"));
        assert!(
            get(&env, "DB_SERVICE_HOST").is_none() && get(&env, "PEERS_SERVICE_HOST").is_none()
        );
        let own = service(
            "shop",
            "kubernetes",
            json!({"clusterIP": "10.43.0.50", "ports": [{"port": 80}]}),
        );
        let env = service_env([&kubernetes, &own], "shop", true);
        assert_eq!(
            get(&env, "KUBERNETES_SERVICE_HOST"),
            Some("10.43.0.50"),
            "the namespace's own wins"
        );
        let env = service_env([&kubernetes, &own], "shop", false);
        assert_eq!(
            get(&env, "KUBERNETES_SERVICE_HOST"),
            Some("10.43.0.1"),
            "without service links, only the API server's"
        );
    }
}
