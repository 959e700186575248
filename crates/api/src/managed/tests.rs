//! Ownership moving through sequences of updates and applies.

use super::*;
use serde_json::{Value, json};

fn writer<'a>(manager: &'a str, time: &'a str) -> Writer<'a> {
    Writer {
        manager,
        api_version: "apps/v1",
        subresource: None,
        time,
    }
}

fn owned(entries: &[Entry], manager: &str) -> Value {
    entries
        .iter()
        .find(|e| e.manager == manager)
        .map_or(json!(null), |e| e.fields.to_fields_v1())
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [
            {"name": "nginx", "image": image}]}}}})
}

#[test]
fn an_update_takes_over_the_fields_it_changes() {
    let mut entries = Vec::new();
    let created = deployment(1, "nginx:1");
    update(
        &json!({}),
        &created,
        &mut entries,
        &writer("creator", "t1"),
        &Builtin,
    );
    let scaled = deployment(3, "nginx:1");
    update(
        &created,
        &scaled,
        &mut entries,
        &writer("scaler", "t2"),
        &Builtin,
    );
    assert_eq!(
        owned(&entries, "scaler"),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(!entries[0].fields.contains(&[
        fieldset::Element::Field("spec".into()),
        fieldset::Element::Field("replicas".into())
    ]));
    assert_eq!(entries[1].time.as_deref(), Some("t2"));
}

#[test]
fn an_apply_conflicts_with_another_owner_unless_forced() {
    let mut entries = Vec::new();
    let live = deployment(1, "nginx:1");
    update(
        &json!({}),
        &live,
        &mut entries,
        &writer("kubectl-client-side-apply", "t1"),
        &Builtin,
    );
    let config = deployment(5, "nginx:1");
    let conflicts = apply(
        &live,
        &config,
        &mut entries,
        &writer("kubectl", "t2"),
        false,
        &Builtin,
    )
    .unwrap_err();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        conflict_message(&conflicts),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let object = apply(
        &live,
        &config,
        &mut entries,
        &writer("kubectl", "t2"),
        true,
        &Builtin,
    )
    .unwrap();
    assert_eq!(object["spec"]["replicas"], 5);
    let csa = owned(&entries, "kubectl-client-side-apply");
    assert!(csa["f:spec"].get("f:replicas").is_none(), "{csa}");
    assert!(
        owned(&entries, "kubectl")["f:spec"]
            .get("f:replicas")
            .is_some()
    );
}

#[test]
fn applying_the_same_value_shares_ownership_without_conflict() {
    let mut entries = Vec::new();
    let config = deployment(2, "nginx:1");
    let first = apply(
        &json!({}),
        &config,
        &mut entries,
        &writer("a", "t1"),
        false,
        &Builtin,
    )
    .unwrap();
    let second = apply(
        &first,
        &config,
        &mut entries,
        &writer("b", "t2"),
        false,
        &Builtin,
    )
    .unwrap();
    assert_eq!(first, second);
    assert_eq!(owned(&entries, "a"), owned(&entries, "b"));
    let changed = deployment(3, "nginx:1");
    let conflicts = apply(
        &second,
        &changed,
        &mut entries,
        &writer("b", "t3"),
        false,
        &Builtin,
    )
    .unwrap_err();
    assert_eq!(conflicts[0].owner.operation, Operation::Apply);
    assert_eq!(
        conflict_message(&conflicts),
        "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
    );
}

#[test]
fn fields_an_applier_drops_go_unless_someone_else_owns_them() {
    let mut entries = Vec::new();
    let mut config = deployment(2, "nginx:1");
    config["metadata"]["labels"] = json!({"app": "web", "tier": "front"});
    config["spec"]["paused"] = json!(true);
    let live = apply(
        &json!({}),
        &config,
        &mut entries,
        &writer("kubectl", "t1"),
        false,
        &Builtin,
    )
    .unwrap();
    // Someone else sets the same `tier` label: it is theirs too now.
    let mut shared = live.clone();
    shared["metadata"]["labels"]["extra"] = json!("x");
    update(
        &live,
        &shared,
        &mut entries,
        &writer("other", "t2"),
        &Builtin,
    );
    let other = entries.iter_mut().find(|e| e.manager == "other").unwrap();
    other.fields.insert(&[
        fieldset::Element::Field("metadata".into()),
        fieldset::Element::Field("labels".into()),
        fieldset::Element::Field("tier".into()),
    ]);
    let trimmed = deployment(2, "nginx:1");
    let object = apply(
        &shared,
        &trimmed,
        &mut entries,
        &writer("kubectl", "t3"),
        false,
        &Builtin,
    )
    .unwrap();
    assert_eq!(
        object["metadata"]["labels"],
        json!({"tier": "front", "extra": "x"})
    );
    assert!(object["spec"].get("paused").is_none());
}

#[test]
fn a_second_manager_adds_a_container_without_touching_the_first() {
    let mut entries = Vec::new();
    let live = apply(
        &json!({}),
        &deployment(1, "nginx:1"),
        &mut entries,
        &writer("a", "t1"),
        false,
        &Builtin,
    )
    .unwrap();
    let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "log", "image": "busybox"}]}}}});
    let object = apply(
        &live,
        &sidecar,
        &mut entries,
        &writer("b", "t2"),
        false,
        &Builtin,
    )
    .unwrap();
    let names: Vec<&str> = object["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["nginx", "log"]);
    // `a` re-applies without the sidecar: b's container stays.
    let again = apply(
        &object,
        &deployment(1, "nginx:2"),
        &mut entries,
        &writer("a", "t3"),
        false,
        &Builtin,
    )
    .unwrap();
    assert_eq!(
        again["spec"]["template"]["spec"]["containers"][1]["name"],
        "log"
    );
    assert_eq!(
        again["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
}

#[test]
fn a_map_owned_whole_keeps_the_entries_still_applied() {
    // As kubectl leaves a client-side applied object when it moves it to server-side apply.
    let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "1", "b": "2"}});
    let mut entries = vec![Entry {
        manager: "ops".into(),
        operation: Operation::Apply,
        api_version: "v1".into(),
        time: None,
        subresource: None,
        fields: FieldSet::from_fields_v1(&json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}}))
            .unwrap(),
    }];
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "red"}});
    let object = apply(
        &live,
        &config,
        &mut entries,
        &writer("ops", "t1"),
        false,
        &Builtin,
    )
    .unwrap();
    assert_eq!(object["data"], json!({"a": "red"}));
}

#[test]
fn beyond_ten_update_managers_the_oldest_become_ancient_changes() {
    let mut entries = Vec::new();
    let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"seed": "x"}});
    for i in 0..13 {
        let mut next = object.clone();
        next["data"][format!("k{i}")] = json!("v");
        let (manager, time) = (format!("m{i:02}"), format!("t{i:02}"));
        update(
            &object,
            &next,
            &mut entries,
            &writer(&manager, &time),
            &Builtin,
        );
        object = next;
    }
    assert_eq!(entries.len(), ops::MAX_UPDATE_MANAGERS);
    let ancient = entries
        .iter()
        .find(|e| e.manager == ops::ANCIENT_CHANGES)
        .unwrap();
    // m00..m03 merged: their four keys, at the time of the last merged in.
    assert_eq!(ancient.fields.paths().len(), 4);
    assert_eq!(ancient.time.as_deref(), Some("t03"));
    assert!(entries.iter().any(|e| e.manager == "m12"));
    assert!(!entries.iter().any(|e| e.manager == "m03"));
}

#[test]
fn filling_a_defaulted_empty_object_is_not_a_conflict() {
    // `kubectl create` owns the `resources: {}` defaulting left; an applier adding a limit
    // changes a field nobody owns.
    let mut entries = Vec::new();
    let mut live = deployment(1, "nginx:1");
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({});
    update(
        &json!({}),
        &live,
        &mut entries,
        &writer("kubectl-create", "t1"),
        &Builtin,
    );
    let config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "nginx",
            "resources": {"limits": {"cpu": "1"}}}]}}}});
    let object = apply(
        &live,
        &config,
        &mut entries,
        &writer("me", "t2"),
        false,
        &Builtin,
    )
    .unwrap();
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "1"
    );
    // Both own their parts now: the creator the `resources` it set, the applier the limit.
    assert!(entries.iter().any(|e| e.manager == "me"));
    assert!(entries.iter().any(|e| e.manager == "kubectl-create"));
}

#[test]
fn a_null_in_a_configuration_clears_the_field_and_contests_its_owner() {
    let mut entries = Vec::new();
    let live = deployment(3, "nginx:1");
    update(
        &json!({}),
        &live,
        &mut entries,
        &writer("scaler", "t1"),
        &Builtin,
    );
    let mut config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": null}});
    let conflicts = apply(
        &live,
        &config,
        &mut entries,
        &writer("me", "t2"),
        false,
        &Builtin,
    )
    .unwrap_err();
    assert_eq!(conflicts[0].field(), ".spec.replicas");
    let object = apply(
        &live,
        &config,
        &mut entries,
        &writer("me", "t2"),
        true,
        &Builtin,
    )
    .unwrap();
    assert!(object["spec"].get("replicas").is_none(), "{object}");
    assert!(owned(&entries, "me")["f:spec"].get("f:replicas").is_some());
    // Nobody else owning it, a null just clears it.
    config["spec"] = json!({"paused": null});
    let mut alone = Vec::new();
    let mut paused = deployment(1, "nginx:1");
    paused["spec"]["paused"] = json!(true);
    let object = apply(
        &paused,
        &config,
        &mut alone,
        &writer("me", "t3"),
        false,
        &Builtin,
    )
    .unwrap();
    assert!(object["spec"].get("paused").is_none());
}
