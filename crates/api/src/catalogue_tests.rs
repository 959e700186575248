use std::collections::HashSet;

use super::*;

fn get(group: &str, version: &str, plural: &str) -> &'static Resource {
    find(group, version, plural)
        .unwrap_or_else(|| panic!("{group}/{version} {plural} is not in the catalogue"))
}

fn subresource_names(resource: &Resource) -> Vec<&'static str> {
    resource.subresources.iter().map(|s| s.name).collect()
}

#[test]
fn pods_carry_upstreams_short_name_categories_and_subresources() {
    let pods = get("", "v1", "pods");
    assert_eq!(pods.kind, "Pod");
    assert_eq!(pods.singular, "pod");
    assert!(pods.namespaced);
    assert_eq!(pods.short_names, ["po"]);
    assert_eq!(pods.categories, ["all"]);
    assert_eq!(
        subresource_names(pods),
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status",
        ]
    );
    let eviction = pods.subresource("eviction").unwrap();
    assert_eq!(
        (eviction.group, eviction.version, eviction.kind),
        ("policy", "v1", "Eviction")
    );
    assert_eq!(eviction.verbs, ["create"]);
    assert_eq!(pods.subresource("exec").unwrap().kind, "PodExecOptions");
    assert_eq!(pods.subresource("exec").unwrap().verbs, ["create", "get"]);
    assert_eq!(pods.subresource("log").unwrap().verbs, ["get"]);
    assert_eq!(pods.subresource("binding").unwrap().kind, "Binding");
    assert!(pods.subresource("scale").is_none());
}

#[test]
fn deployments_scale_subresource_answers_autoscaling_v1_scale() {
    let deployments = get("apps", "v1", "deployments");
    assert_eq!(deployments.short_names, ["deploy"]);
    assert_eq!(deployments.categories, ["all"]);
    let scale = deployments.subresource("scale").unwrap();
    assert_eq!(
        (scale.group, scale.version, scale.kind),
        ("autoscaling", "v1", "Scale")
    );
    assert_eq!(scale.verbs, ["get", "patch", "update"]);
    let status = deployments.subresource("status").unwrap();
    assert_eq!(
        (status.group, status.version, status.kind),
        ("apps", "v1", "Deployment")
    );
}

#[test]
fn nodes_are_cluster_scoped_with_short_name_no() {
    let nodes = get("", "v1", "nodes");
    assert!(!nodes.namespaced);
    assert_eq!(nodes.short_names, ["no"]);
    assert_eq!(subresource_names(nodes), ["proxy", "status"]);
}

#[test]
fn customresourcedefinitions_carry_crd_and_crds_in_api_extensions() {
    let crds = get("apiextensions.k8s.io", "v1", "customresourcedefinitions");
    assert!(!crds.namespaced);
    assert_eq!(crds.short_names, ["crd", "crds"]);
    assert_eq!(crds.categories, ["api-extensions"]);
    for plural in [
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "validatingwebhookconfigurations",
    ] {
        let webhooks = get("admissionregistration.k8s.io", "v1", plural);
        assert_eq!(webhooks.categories, ["api-extensions"], "{plural}");
    }
}

#[test]
fn horizontalpodautoscalers_are_served_in_autoscaling_v2_and_v1_with_v2_preferred() {
    for version in ["v2", "v1"] {
        let hpa = get("autoscaling", version, "horizontalpodautoscalers");
        assert_eq!(hpa.kind, "HorizontalPodAutoscaler");
        assert_eq!(hpa.short_names, ["hpa"]);
        assert_eq!(hpa.subresource("status").unwrap().version, version);
    }
    let autoscaling = groups()
        .into_iter()
        .find(|g| g.name == "autoscaling")
        .unwrap();
    assert_eq!(autoscaling.versions, ["v2", "v1"]);
}

#[test]
fn events_are_served_in_core_and_events_k8s_io() {
    for group in ["", "events.k8s.io"] {
        let events = get(group, "v1", "events");
        assert_eq!(events.kind, "Event");
        assert_eq!(events.short_names, ["ev"]);
        assert!(events.namespaced);
    }
}

#[test]
fn write_only_and_read_only_core_resources_keep_upstreams_narrow_verbs() {
    assert_eq!(get("", "v1", "bindings").verbs, ["create"]);
    assert_eq!(get("", "v1", "componentstatuses").verbs, ["get", "list"]);
    let namespaces = get("", "v1", "namespaces");
    assert!(!namespaces.has_verb("deletecollection"));
    assert!(namespaces.has_verb("delete"));
    assert_eq!(
        namespaces.subresource("finalize").unwrap().verbs,
        ["update"]
    );
}

#[test]
fn group_version_is_bare_for_core_and_prefixed_for_named_groups() {
    assert_eq!(get("", "v1", "pods").group_version(), "v1");
    assert_eq!(get("", "v1", "pods").api_version(), "v1");
    let deployments = get("apps", "v1", "deployments");
    assert_eq!(deployments.group_version(), "apps/v1");
    assert_eq!(deployments.api_version(), "apps/v1");
}

#[test]
fn lookups_by_plural_and_kind_agree_and_miss_unknown_names() {
    for r in resources() {
        assert_eq!(find(r.group, r.version, r.plural), Some(r));
        assert_eq!(find_kind(r.group, r.version, r.kind), Some(r));
    }
    assert!(find("", "v1", "pod").is_none());
    assert!(find("apps", "v1beta1", "deployments").is_none());
    assert!(find_kind("apps", "v1", "Pod").is_none());
    assert_eq!(in_group_version("nope.example.com", "v1").count(), 0);
}

#[test]
fn in_group_version_outlives_its_arguments() {
    let iter = {
        let group = String::from("apps");
        in_group_version(&group, "v1")
    };
    assert_eq!(iter.count(), 5);
}

#[test]
fn every_group_version_and_plural_is_unique() {
    let mut plurals = HashSet::new();
    let mut kinds = HashSet::new();
    for r in resources() {
        assert!(
            plurals.insert((r.group, r.version, r.plural)),
            "duplicate {} {}",
            r.group_version(),
            r.plural
        );
        assert!(
            kinds.insert((r.group, r.version, r.kind)),
            "duplicate {} {}",
            r.group_version(),
            r.kind
        );
    }
}

#[test]
fn every_resource_has_a_kind_a_plural_a_singular_and_verbs() {
    for r in resources() {
        assert!(!r.kind.is_empty(), "{r:?}");
        assert!(!r.plural.is_empty(), "{r:?}");
        assert!(!r.singular.is_empty(), "{r:?}");
        assert!(!r.version.is_empty(), "{r:?}");
        assert!(!r.verbs.is_empty(), "{r:?}");
        for s in r.subresources {
            assert!(!s.name.is_empty() && !s.kind.is_empty() && !s.version.is_empty());
            assert!(!s.verbs.is_empty(), "{}/{}", r.plural, s.name);
        }
    }
}

#[test]
fn verbs_and_subresources_are_in_upstreams_sorted_order() {
    for r in resources() {
        assert!(r.verbs.is_sorted(), "{} verbs", r.plural);
        assert!(
            r.subresources.is_sorted_by_key(|s| s.name),
            "{} subresources",
            r.plural
        );
        for s in r.subresources {
            assert!(s.verbs.is_sorted(), "{}/{} verbs", r.plural, s.name);
        }
    }
}

#[test]
fn resources_follow_group_order_and_each_group_version_is_contiguous_and_sorted() {
    // The expected order: core v1, then each named group's versions as `groups()` lists them.
    let mut expected = vec![("", "v1")];
    for g in groups() {
        expected.extend(g.versions.iter().map(|&v| (g.name, v)));
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for r in resources() {
        if seen.last() != Some(&(r.group, r.version)) {
            seen.push((r.group, r.version));
        }
    }
    assert_eq!(seen, expected);
    for &(group, version) in &expected {
        let plurals: Vec<_> = in_group_version(group, version).map(|r| r.plural).collect();
        assert!(plurals.is_sorted(), "{group}/{version}: {plurals:?}");
    }
}

#[test]
fn groups_cover_every_named_group_in_resources() {
    let listed: HashSet<(&str, &str)> = groups()
        .iter()
        .flat_map(|g| g.versions.iter().map(move |&v| (g.name, v)))
        .collect();
    for r in resources().iter().filter(|r| !r.group.is_empty()) {
        assert!(
            listed.contains(&(r.group, r.version)),
            "{} missing from groups()",
            r.group_version()
        );
    }
    for &(group, version) in &listed {
        assert!(
            in_group_version(group, version).next().is_some(),
            "{group}/{version} has no resources"
        );
    }
    assert!(groups().iter().all(|g| !g.name.is_empty()));
}

#[test]
fn groups_follow_upstreams_apis_order() {
    let names: Vec<_> = groups().into_iter().map(|g| g.name).collect();
    assert_eq!(
        names,
        [
            "apps",
            "events.k8s.io",
            "authentication.k8s.io",
            "authorization.k8s.io",
            "autoscaling",
            "batch",
            "certificates.k8s.io",
            "networking.k8s.io",
            "policy",
            "rbac.authorization.k8s.io",
            "storage.k8s.io",
            "admissionregistration.k8s.io",
            "apiextensions.k8s.io",
            "scheduling.k8s.io",
            "coordination.k8s.io",
            "node.k8s.io",
            "discovery.k8s.io",
        ]
    );
}

#[test]
fn each_group_version_serves_upstreams_ga_resource_count() {
    let counts = [
        ("", "v1", 17),
        ("apps", "v1", 5),
        ("events.k8s.io", "v1", 1),
        ("authentication.k8s.io", "v1", 2),
        ("authorization.k8s.io", "v1", 4),
        ("autoscaling", "v2", 1),
        ("autoscaling", "v1", 1),
        ("batch", "v1", 2),
        ("certificates.k8s.io", "v1", 1),
        ("networking.k8s.io", "v1", 5),
        ("policy", "v1", 1),
        ("rbac.authorization.k8s.io", "v1", 4),
        ("storage.k8s.io", "v1", 5),
        ("admissionregistration.k8s.io", "v1", 4),
        ("apiextensions.k8s.io", "v1", 1),
        ("scheduling.k8s.io", "v1", 1),
        ("coordination.k8s.io", "v1", 1),
        ("node.k8s.io", "v1", 1),
        ("discovery.k8s.io", "v1", 1),
    ];
    for (group, version, count) in counts {
        assert_eq!(
            in_group_version(group, version).count(),
            count,
            "{group}/{version}"
        );
    }
    let total: usize = counts.iter().map(|&(_, _, n)| n).sum();
    assert_eq!(resources().len(), total);
}

#[test]
fn scale_subresources_answer_autoscaling_v1_scale_everywhere() {
    let scalable: Vec<_> = resources()
        .iter()
        .filter_map(|r| r.subresource("scale").map(|s| (r.plural, s)))
        .collect();
    let plurals: Vec<_> = scalable.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        plurals,
        [
            "replicationcontrollers",
            "deployments",
            "replicasets",
            "statefulsets"
        ]
    );
    for (_, s) in scalable {
        assert_eq!((s.group, s.version, s.kind), ("autoscaling", "v1", "Scale"));
    }
}
