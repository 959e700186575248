//! Custom resources in the catalogue (its own process: the registry of definitions is global,
//! and the catalogue's unit tests check the built-in groups exactly).

use gantry_api::catalogue;
use gantry_api::custom::{self, Version};

fn version(v: &str, status: bool) -> Version {
    Version {
        group: "custom-test.example.com".into(),
        version: v.into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
        singular: "widget".into(),
        namespaced: true,
        short_names: vec!["wd".into()],
        categories: vec!["all".into()],
        status,
        scale: status,
    }
}

#[test]
fn definitions_are_served_replaced_reused_and_removed() {
    let group = "custom-test.example.com";
    custom::define(
        group,
        "widgets",
        &[version("v1beta1", false), version("v1", true)],
    );
    let v1 = catalogue::find(group, "v1", "widgets").unwrap();
    assert_eq!(
        (v1.kind, v1.short_names, v1.namespaced),
        ("Widget", &["wd"][..], true)
    );
    assert!(v1.subresource("status").is_some());
    let scale = v1.subresource("scale").unwrap();
    assert_eq!(
        (scale.group, scale.version, scale.kind),
        ("autoscaling", "v1", "Scale")
    );
    let beta = catalogue::find_kind(group, "v1beta1", "Widget").unwrap();
    assert!(beta.subresource("status").is_none());
    let listed = catalogue::groups()
        .into_iter()
        .find(|g| g.name == group)
        .unwrap();
    assert_eq!(
        listed.versions,
        ["v1", "v1beta1"],
        "preferred version first"
    );

    // The same content again: the same resource, nothing leaked anew.
    custom::define(group, "widgets", &[version("v1", true)]);
    assert!(std::ptr::eq(
        catalogue::find(group, "v1", "widgets").unwrap(),
        v1
    ));
    assert!(catalogue::find(group, "v1beta1", "widgets").is_none());

    custom::remove(group, "widgets");
    assert!(catalogue::find(group, "v1", "widgets").is_none());
    assert!(catalogue::groups().iter().all(|g| g.name != group));
}

#[test]
fn a_definition_cannot_add_to_a_built_in_group_version() {
    let mut sneaky = version("v1", false);
    sneaky.group = "apps".into();
    sneaky.plural = "sneakies".into();
    custom::define("apps", "sneakies", &[sneaky]);
    assert!(catalogue::find("apps", "v1", "sneakies").is_none());
    custom::remove("apps", "sneakies");
}
