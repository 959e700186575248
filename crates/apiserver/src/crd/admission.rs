//! Admission for definitions (names, storage version, defaults, the clean-up finalizer) and
//! for custom objects (pruned — unknown fields refused or warned about as the request's
//! `fieldValidation` says — defaulted and validated by their version's schema).

use super::{CLEANUP_FINALIZER, text};
use crate::meta;
use crate::status::{ApiError, Cause};
use gantry_api::catalogue::{self, Resource};
use serde_json::{Value, json};

/// Admits a new definition: its name is `<plural>.<group>`, one version is the storage
/// version, the names are defaulted (singular, list kind), and it gets the clean-up finalizer.
pub fn admit(crd: &mut Value) -> Result<(), ApiError> {
    let name = meta::meta_str(crd, "name").unwrap_or_default().to_owned();
    let spec = crd["spec"].clone();
    let spec = &spec;
    let (group, plural, kind) = (
        text(spec, "/group"),
        text(spec, "/names/plural"),
        text(spec, "/names/kind"),
    );
    let mut causes = Vec::new();
    if name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if group.is_empty() {
        causes.push(Cause::required("spec.group", ""));
    } else if catalogue::groups().iter().any(|g| g.name == group)
        && catalogue::resources().iter().any(|r| r.group == group)
    {
        causes.push(Cause::invalid(
            "spec.group",
            &json!(group),
            "is a built-in API group",
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural", ""));
    }
    if kind.is_empty() {
        causes.push(Cause::required("spec.names.kind", ""));
    }
    let scope = text(spec, "/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::not_supported(
            "spec.scope",
            &json!(scope),
            &["Cluster", "Namespaced"],
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count();
    if versions.is_empty() {
        causes.push(Cause::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    } else if storage != 1 {
        causes.push(Cause::invalid(
            "spec.versions",
            &json!(versions),
            "must have exactly one version marked as storage version",
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            &name,
            causes,
        ));
    }
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        let lower = kind.to_lowercase();
        names.entry("singular").or_insert_with(|| json!(lower));
        names
            .entry("listKind")
            .or_insert_with(|| json!(format!("{kind}List")));
    }
    if let Some(meta) = crd.get_mut("metadata").and_then(Value::as_object_mut) {
        let list = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut()
            && !list.iter().any(|f| f == CLEANUP_FINALIZER)
        {
            list.push(json!(CLEANUP_FINALIZER));
        }
    }
    Ok(())
}

/// Prunes, defaults and validates a custom object written in `resource`'s version by that
/// version's schema (nothing for built-in kinds, or versions without a schema).
pub fn admit_object(resource: &Resource, object: &mut Value) -> Result<(), ApiError> {
    let Some(schema) = super::served::get(resource).and_then(|s| s.schema.clone()) else {
        return Ok(());
    };
    let dropped = crate::schema::prune::prune(&schema, object, true);
    crate::warnings::unknown_fields(resource, &dropped)?;
    crate::schema::defaults::apply(&schema, object);
    let causes = crate::schema::validate::validate(&schema, object);
    if causes.is_empty() {
        return Ok(());
    }
    let name = meta::meta_str(object, "name")
        .unwrap_or_default()
        .to_owned();
    Err(ApiError::invalid(
        resource.group,
        resource.kind,
        &name,
        causes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::tests::crontab;

    #[test]
    fn admission_checks_names_and_storage_and_defaults_the_rest() {
        let mut crd = crontab();
        admit(&mut crd).unwrap();
        assert_eq!(crd["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(crd["spec"]["names"]["singular"], "crontab");
        assert_eq!(crd["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));

        let mut misnamed = crontab();
        misnamed["metadata"]["name"] = json!("crontab");
        let error = admit(&mut misnamed).unwrap_err();
        assert_eq!(error.code, 422);
        assert!(
            error
                .message
                .contains("must be spec.names.plural+\".\"+spec.group"),
            "{}",
            error.message
        );

        let mut two = crontab();
        two["spec"]["versions"][1]["storage"] = json!(true);
        assert!(
            admit(&mut two)
                .unwrap_err()
                .message
                .contains("exactly one version marked as storage version")
        );

        let mut builtin = crontab();
        builtin["spec"]["group"] = json!("apps");
        builtin["metadata"]["name"] = json!("crontabs.apps");
        assert!(admit(&mut builtin).is_err());
    }

    #[test]
    fn objects_are_pruned_defaulted_and_validated_by_their_versions_schema() {
        let resource = Resource {
            group: "admit-test.example.com",
            version: "v1",
            kind: "Gadget",
            plural: "gadgets",
            singular: "gadget",
            namespaced: true,
            verbs: &[],
            short_names: &[],
            categories: &[],
            subresources: &[],
        };
        crate::crd::served::set(
            resource.group,
            resource.plural,
            vec![(
                "v1".into(),
                crate::crd::served::Served {
                    schema: Some(
                        json!({"type": "object", "properties": {"spec": {"type": "object",
                        "properties": {"size": {"type": "integer", "default": 2, "maximum": 5}}}}}),
                    ),
                    columns: Vec::new(),
                    scale: None,
                },
            )],
        );
        let mut good = json!({"metadata": {"name": "g"}, "spec": {"extra": true}});
        admit_object(&resource, &mut good).unwrap();
        assert_eq!(good["spec"], json!({"size": 2}));
        let mut bad = json!({"metadata": {"name": "g"}, "spec": {"size": 9}});
        let error = admit_object(&resource, &mut bad).unwrap_err();
        assert_eq!(
            error.message,
            "Gadget.admit-test.example.com \"g\" is invalid: spec.size: Invalid value: 9: spec.size in body should be less than or equal to 5"
        );
        crate::crd::served::set(resource.group, resource.plural, Vec::new());
        let mut anything = json!({"metadata": {"name": "g"}, "spec": {"size": 9}});
        admit_object(&resource, &mut anything).unwrap();
    }
}
