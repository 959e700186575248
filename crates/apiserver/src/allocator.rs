//! Service ClusterIP and NodePort allocation, inside the API server as upstream does it.
//!
//! Every allocated address and port is a key of its own (`/registry/ranges/serviceips/<ip>`,
//! `/registry/ranges/servicenodeports/<port>`), created with "must be absent" in the same
//! transaction that writes the Service and deleted in the one that removes it. Two creates can
//! therefore never hold one IP, and nothing is lost or leaked across restarts: the store is the
//! only bitmap. A lost race on a random pick is retried with another.

use crate::status::{ApiError, Cause};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

/// Where Service addresses and node ports come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges {
    /// The service CIDR's network address.
    pub network: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// The node port range.
    pub node_ports: RangeInclusive<u16>,
}

impl Default for Ranges {
    /// k3s' defaults: 10.43.0.0/16 and upstream's 30000-32767.
    fn default() -> Self {
        Self {
            network: Ipv4Addr::new(10, 43, 0, 0),
            prefix: 16,
            node_ports: 30000..=32767,
        }
    }
}

impl Ranges {
    /// Parses `10.43.0.0/16` and `30000-32767`.
    pub fn parse(cidr: &str, ports: &str) -> Result<Self, String> {
        let block: gantry_api::cidr::Ipv4Cidr = cidr.parse()?;
        let prefix = block.prefix();
        if !(8..=30).contains(&prefix) {
            return Err(format!("{cidr:?}: the prefix must be between /8 and /30"));
        }
        let network = block.network();
        let (low, high) = ports
            .split_once('-')
            .ok_or_else(|| format!("{ports:?} is not a range like 30000-32767"))?;
        let low: u16 = low
            .trim()
            .parse()
            .map_err(|_| format!("{ports:?}: bad port"))?;
        let high: u16 = high
            .trim()
            .parse()
            .map_err(|_| format!("{ports:?}: bad port"))?;
        if low == 0 || low > high {
            return Err(format!("{ports:?}: not a valid port range"));
        }
        Ok(Self {
            network,
            prefix,
            node_ports: low..=high,
        })
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let offset = u32::from(ip).wrapping_sub(u32::from(self.network));
        offset > 0 && offset < self.size() - 1
    }

    /// The first address, reserved for the `kubernetes` Service.
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    fn cidr(&self) -> String {
        format!("{}/{}", self.network, self.prefix)
    }

    fn random_ip(&self) -> Ipv4Addr {
        // Dynamic picks avoid the lower band that upstream keeps for static choices (1/16 of the
        // range, at least 16 and at most 256 addresses) and the broadcast address.
        let reserved = (self.size() / 16).clamp(16, 256).min(self.size() / 2);
        Ipv4Addr::from(u32::from(self.network) + fastrand::u32(reserved..self.size() - 1))
    }
}

/// The store key holding one allocated IP.
pub fn ip_key(ip: &str) -> String {
    format!("/registry/ranges/serviceips/{ip}")
}

/// The store key holding one allocated node port.
pub fn port_key(port: i64) -> String {
    format!("/registry/ranges/servicenodeports/{port}")
}

/// The keys an object holds: for a Service, its cluster IPs and node ports.
pub fn held(object: &Value) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    if object.get("kind") != Some(&json!("Service")) {
        return keys;
    }
    let ips = object.pointer("/spec/clusterIPs").and_then(Value::as_array);
    let single = object.pointer("/spec/clusterIP").and_then(Value::as_str);
    for ip in ips
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .chain(single)
    {
        if ip != "None" && !ip.is_empty() {
            keys.insert(ip_key(ip));
        }
    }
    for port in object
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(node_port) = port.get("nodePort").and_then(Value::as_i64) {
            keys.insert(port_key(node_port));
        }
    }
    keys
}

fn invalid(name: &str, cause: Cause) -> ApiError {
    ApiError::invalid("", "Service", name, vec![cause])
}

/// Fills a Service's defaults and allocations before it is written. `old` is the stored Service
/// on update (its allocations carry over); allocation picks are random, so a caller that lost a
/// race calls this again on the original object for another pick.
pub fn prepare_service(
    ranges: &Ranges,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let spec = object
        .as_object_mut()
        .map(|o| o.entry("spec").or_insert_with(|| json!({})))
        .ok_or_else(|| ApiError::bad_request("a Service must be an object"))?;
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    const TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    if !TYPES.contains(&kind.as_str()) {
        return Err(invalid(
            &name,
            Cause::not_supported("spec.type", &json!(kind), TYPES),
        ));
    }
    spec["type"] = json!(kind);
    for (field, default) in [
        ("sessionAffinity", "None"),
        ("internalTrafficPolicy", "Cluster"),
    ] {
        if spec.get(field).is_none_or(Value::is_null) {
            spec[field] = json!(default);
        }
    }
    if kind != "ClusterIP"
        && kind != "ExternalName"
        && spec.get("externalTrafficPolicy").is_none_or(Value::is_null)
    {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    let old_spec = old.and_then(|o| o.get("spec"));

    // Ports: protocol and targetPort defaults; node ports for NodePort and LoadBalancer.
    let wants_node_ports = kind == "NodePort" || kind == "LoadBalancer";
    let old_ports: Vec<Value> = old_spec
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut taken: BTreeSet<i64> = BTreeSet::new();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, port) in ports.iter_mut().enumerate() {
            let Some(port) = port.as_object_mut() else {
                continue;
            };
            port.entry("protocol").or_insert_with(|| json!("TCP"));
            let number = port.get("port").cloned().unwrap_or(Value::Null);
            let Some(number_i) = number.as_i64().filter(|p| (1..=65535).contains(p)) else {
                return Err(invalid(
                    &name,
                    Cause::invalid(
                        &format!("spec.ports[{i}].port"),
                        &number,
                        "must be between 1 and 65535, inclusive",
                    ),
                ));
            };
            port.entry("targetPort").or_insert_with(|| json!(number_i));
            if !wants_node_ports {
                port.remove("nodePort");
                continue;
            }
            let given = port
                .get("nodePort")
                .and_then(Value::as_i64)
                .filter(|p| *p != 0);
            let kept = old_ports
                .iter()
                .find(|p| {
                    p.get("port") == Some(&number) && p.get("protocol") == port.get("protocol")
                })
                .and_then(|p| p.get("nodePort").and_then(Value::as_i64));
            let chosen = match given.or(kept) {
                Some(p) if !ranges.node_ports.contains(&u16::try_from(p).unwrap_or(0)) => {
                    return Err(invalid(
                        &name,
                        Cause::invalid(
                            &format!("spec.ports[{i}].nodePort"),
                            &json!(p),
                            &format!(
                                "provided port is not in the valid range. The range of valid ports is {}-{}",
                                ranges.node_ports.start(),
                                ranges.node_ports.end()
                            ),
                        ),
                    ));
                }
                Some(p) => p,
                None => loop {
                    let pick = i64::from(fastrand::u16(ranges.node_ports.clone()));
                    if !taken.contains(&pick) {
                        break pick;
                    }
                },
            };
            taken.insert(chosen);
            port.insert("nodePort".into(), json!(chosen));
        }
    }

    // Cluster IP.
    if kind == "ExternalName" {
        spec.as_object_mut().map(|s| {
            s.remove("clusterIP");
            s.remove("clusterIPs")
        });
        return Ok(());
    }
    let requested = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let previous = old_spec
        .and_then(|s| s.get("clusterIP"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let ip = match (requested.as_str(), previous) {
        ("", "") => ranges.random_ip().to_string(),
        ("", prev) => prev.to_owned(),
        (req, prev) if !prev.is_empty() && req != prev => {
            return Err(invalid(
                &name,
                Cause::invalid("spec.clusterIPs[0]", &json!(req), "may not change once set"),
            ));
        }
        ("None", _) => "None".to_owned(),
        (req, _) => {
            let parsed: Ipv4Addr = req.parse().map_err(|_| {
                invalid(
                    &name,
                    Cause::invalid(
                        "spec.clusterIPs[0]",
                        &json!(req),
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    ),
                )
            })?;
            if !ranges.contains(parsed) {
                return Err(invalid(
                    &name,
                    Cause::invalid(
                        "spec.clusterIPs[0]",
                        &json!(req),
                        &format!(
                            "provided IP is not in the valid range. The range of valid IPs is {}",
                            ranges.cidr()
                        ),
                    ),
                ));
            }
            req.to_owned()
        }
    };
    spec["clusterIP"] = json!(ip);
    spec["clusterIPs"] = json!([ip]);
    if spec.get("ipFamilies").is_none_or(Value::is_null) {
        spec["ipFamilies"] = json!(["IPv4"]);
    }
    if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
        spec["ipFamilyPolicy"] = json!("SingleStack");
    }
    Ok(())
}

/// The error for a specific IP or port someone else holds.
pub fn already_allocated(name: &str, key: &str) -> ApiError {
    let cause = match key.rsplit_once('/') {
        Some((prefix, ip)) if prefix.ends_with("serviceips") => Cause::invalid(
            "spec.clusterIPs",
            &json!([ip]),
            &format!("failed to allocate IP {ip}: provided IP is already allocated"),
        ),
        Some((_, port)) => Cause::invalid(
            "spec.ports[].nodePort",
            &json!(port.parse::<i64>().unwrap_or(0)),
            "provided port is already allocated",
        ),
        None => Cause::invalid("spec", &json!(key), "already allocated"),
    };
    invalid(name, cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(spec: Value) -> Value {
        json!({"kind": "Service", "metadata": {"name": "s"}, "spec": spec})
    }

    #[test]
    fn a_cluster_ip_service_gets_an_address_in_range_and_upstreams_defaults() {
        let ranges = Ranges::default();
        let mut svc = service(json!({"ports": [{"port": 80}]}));
        prepare_service(&ranges, &mut svc, None).unwrap();
        let ip: Ipv4Addr = svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(ranges.contains(ip) && ip != ranges.first());
        assert_eq!(svc["spec"]["clusterIPs"], json!([ip.to_string()]));
        assert_eq!(
            svc["spec"]["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(
            (
                svc["spec"]["type"].as_str(),
                svc["spec"]["sessionAffinity"].as_str()
            ),
            (Some("ClusterIP"), Some("None"))
        );
        assert_eq!(held(&svc), BTreeSet::from([ip_key(&ip.to_string())]));
    }

    #[test]
    fn node_ports_are_allocated_in_range_and_kept_across_updates() {
        let ranges = Ranges::default();
        let mut svc = service(
            json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 443, "nodePort": 30443}]}),
        );
        prepare_service(&ranges, &mut svc, None).unwrap();
        let first = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!((30000..=32767).contains(&first));
        assert_eq!(svc["spec"]["ports"][1]["nodePort"], 30443);
        let mut update = service(
            json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 443, "nodePort": 30443}]}),
        );
        prepare_service(&ranges, &mut update, Some(&svc)).unwrap();
        assert_eq!(
            update["spec"]["ports"][0]["nodePort"], first,
            "an update keeps what was allocated"
        );
        assert_eq!(update["spec"]["clusterIP"], svc["spec"]["clusterIP"]);
    }

    #[test]
    fn out_of_range_and_changed_addresses_are_invalid() {
        let ranges = Ranges::default();
        let err = prepare_service(
            &ranges,
            &mut service(json!({"clusterIP": "10.96.0.10"})),
            None,
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("The range of valid IPs is 10.43.0.0/16"),
            "{err}"
        );
        let err = prepare_service(
            &ranges,
            &mut service(json!({"type": "NodePort", "ports": [{"port": 1, "nodePort": 80}]})),
            None,
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("The range of valid ports is 30000-32767"),
            "{err}"
        );
        let mut svc = service(json!({}));
        prepare_service(&ranges, &mut svc, None).unwrap();
        let err = prepare_service(
            &ranges,
            &mut service(json!({"clusterIP": "10.43.9.9"})),
            Some(&svc),
        )
        .unwrap_err();
        assert!(err.message.contains("may not change once set"), "{err}");
    }

    #[test]
    fn headless_and_external_name_services_hold_no_address() {
        let ranges = Ranges::default();
        let mut headless = service(json!({"clusterIP": "None"}));
        prepare_service(&ranges, &mut headless, None).unwrap();
        assert!(held(&headless).is_empty());
        let mut external = service(json!({"type": "ExternalName", "externalName": "example.com"}));
        prepare_service(&ranges, &mut external, None).unwrap();
        assert!(external["spec"].get("clusterIP").is_none());
    }

    #[test]
    fn ranges_parse_from_flags() {
        let r = Ranges::parse("10.96.5.0/24", "30000-30010").unwrap();
        assert_eq!((r.network, r.prefix), (Ipv4Addr::new(10, 96, 5, 0), 24));
        assert!(Ranges::parse("10.96.0.0", "1-2").is_err());
        assert!(Ranges::parse("10.96.0.0/16", "9-1").is_err());
    }
}
