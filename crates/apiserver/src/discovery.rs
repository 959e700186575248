//! Discovery: `/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`, in the legacy forms and
//! as aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1), answering with the aggregated
//! form only when the client asks for it and echoing the version it asked for (kubectl 1.27 and
//! 1.29 read only v2beta1).

use gantry_api::catalogue::{self, Resource};
use serde_json::{Value, json};

/// Which aggregated discovery version a client accepts, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregated {
    /// `apidiscovery.k8s.io/v2`.
    V2,
    /// `apidiscovery.k8s.io/v2beta1`.
    V2Beta1,
}

impl Aggregated {
    /// The first aggregated form in an Accept header, in the client's order of preference.
    pub fn from_accept(accept: &str) -> Option<Self> {
        accept.split(',').find_map(|media| {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            let has = |p: &str| params.contains(&p);
            if !(has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList")) {
                return None;
            }
            if has("v=v2") {
                Some(Self::V2)
            } else if has("v=v2beta1") {
                Some(Self::V2Beta1)
            } else {
                None
            }
        })
    }

    /// The version string.
    pub fn version(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V2Beta1 => "v2beta1",
        }
    }

    /// The Content-Type to answer with.
    pub fn content_type(self) -> String {
        format!(
            "application/json;g=apidiscovery.k8s.io;v={};as=APIGroupDiscoveryList",
            self.version()
        )
    }
}

fn scope(resource: &Resource) -> &'static str {
    if resource.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    }
}

fn aggregated_resource(resource: &Resource) -> Value {
    let subresources: Vec<Value> = resource
        .subresources
        .iter()
        .map(|s| {
            // Upstream leaves group and version empty when they are the parent's.
            let same = (s.group, s.version) == (resource.group, resource.version);
            let (group, version) = if same { ("", "") } else { (s.group, s.version) };
            json!({
                "subresource": s.name,
                "responseKind": {"group": group, "version": version, "kind": s.kind},
                "verbs": s.verbs,
            })
        })
        .collect();
    let mut entry = json!({
        "resource": resource.plural,
        "responseKind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
        "scope": scope(resource),
        "singularResource": resource.singular,
        "verbs": resource.verbs,
    });
    if !resource.short_names.is_empty() {
        entry["shortNames"] = json!(resource.short_names);
    }
    if !resource.categories.is_empty() {
        entry["categories"] = json!(resource.categories);
    }
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

fn aggregated_group(name: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = catalogue::in_group_version(name, version)
                .map(aggregated_resource)
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut metadata = json!({"creationTimestamp": null});
    if !name.is_empty() {
        metadata["name"] = json!(name);
    }
    json!({"metadata": metadata, "versions": versions})
}

fn discovery_list(kind: Aggregated, items: Vec<Value>) -> Value {
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{}", kind.version()),
        "metadata": {},
        "items": items,
    })
}

/// `/api`.
pub fn legacy_root(aggregated: Option<Aggregated>, server_address: &str) -> Value {
    match aggregated {
        Some(kind) => discovery_list(kind, vec![aggregated_group("", &["v1"])]),
        None => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }),
    }
}

fn group_versions(group: &catalogue::Group) -> Value {
    let versions: Vec<Value> = group
        .versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{}/{v}", group.name), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": group.name, "versions": versions, "preferredVersion": preferred})
}

/// `/apis`.
pub fn groups_root(aggregated: Option<Aggregated>) -> Value {
    let groups = catalogue::groups();
    match aggregated {
        Some(kind) => discovery_list(
            kind,
            groups
                .iter()
                .map(|g| aggregated_group(g.name, &g.versions))
                .collect(),
        ),
        None => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups.iter().map(group_versions).collect::<Vec<_>>(),
        }),
    }
}

/// `/apis/<group>`, if the group exists.
pub fn group(name: &str) -> Option<Value> {
    let group = catalogue::groups().into_iter().find(|g| g.name == name)?;
    let mut body = group_versions(&group);
    body["kind"] = json!("APIGroup");
    body["apiVersion"] = json!("v1");
    Some(body)
}

/// `/api/v1` or `/apis/<group>/<version>`, if served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources: Vec<&Resource> = catalogue::in_group_version(group, version).collect();
    if resources.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    for r in resources {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        entries.push(entry);
        for s in r.subresources {
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if (s.group, s.version) != (r.group, r.version) {
                sub["group"] = json!(s.group);
                sub["version"] = json!(s.version);
            }
            entries.push(sub);
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregated_version_asked_for_first_is_served() {
        let kubectl_133 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(Aggregated::from_accept(kubectl_133), Some(Aggregated::V2));
        let kubectl_127 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(
            Aggregated::from_accept(kubectl_127),
            Some(Aggregated::V2Beta1)
        );
        assert_eq!(Aggregated::from_accept("application/json"), None);
    }

    #[test]
    fn aggregated_core_discovery_carries_what_kubectl_needs() {
        let root = legacy_root(Some(Aggregated::V2), "127.0.0.1:6443");
        let resources = &root["items"][0]["versions"][0]["resources"];
        let pods = resources
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["responseKind"]["kind"], "Pod");
        assert_eq!(pods["scope"], "Namespaced");
        assert!(
            pods["shortNames"]
                .as_array()
                .unwrap()
                .contains(&json!("po"))
        );
        assert!(
            pods["categories"]
                .as_array()
                .unwrap()
                .contains(&json!("all"))
        );
        assert!(pods["verbs"].as_array().unwrap().contains(&json!("watch")));
    }

    #[test]
    fn legacy_resource_lists_name_subresources_with_their_kind() {
        let apps = resource_list("apps", "v1").unwrap();
        let entries = apps["resources"].as_array().unwrap();
        let scale = entries
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(
            (scale["kind"].as_str(), scale["group"].as_str()),
            (Some("Scale"), Some("autoscaling"))
        );
        assert!(resource_list("apps", "v1beta9").is_none());
    }
}
