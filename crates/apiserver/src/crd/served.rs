//! What each served version of a definition brings: its catalogue entry (`gantry_api::custom`),
//! and beside it the version's schema and printer columns, kept here by
//! `(group, version, plural)` and replaced or removed together with the entry.

use super::{strings, text};
use gantry_api::catalogue::Resource;
use gantry_api::custom::{self, Version};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One served version's schema and columns.
#[derive(Debug, Default)]
pub struct Served {
    /// `schema.openAPIV3Schema`, if given.
    pub schema: Option<Value>,
    /// `additionalPrinterColumns` (empty: Name and Age).
    pub columns: Vec<Value>,
    /// `subresources.scale`: `specReplicasPath`, `statusReplicasPath`, `labelSelectorPath`.
    pub scale: Option<Value>,
}

type Key = (String, String, String);

static SERVED: RwLock<Option<HashMap<Key, Arc<Served>>>> = RwLock::new(None);

/// The served versions of a definition, as catalogue entries.
pub fn versions_of(crd: &Value) -> Vec<Version> {
    let spec = &crd["spec"];
    let kind = text(spec, "/names/kind");
    let singular = match text(spec, "/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_owned(),
    };
    served_versions(crd)
        .map(|v| Version {
            group: text(spec, "/group").to_owned(),
            version: text(v, "/name").to_owned(),
            kind: kind.to_owned(),
            plural: text(spec, "/names/plural").to_owned(),
            singular: singular.clone(),
            namespaced: text(spec, "/scope") == "Namespaced",
            short_names: strings(spec, "/names/shortNames"),
            categories: strings(spec, "/names/categories"),
            status: v.pointer("/subresources/status").is_some(),
            scale: v.pointer("/subresources/scale").is_some(),
        })
        .collect()
}

fn served_versions(crd: &Value) -> impl Iterator<Item = &Value> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool() == Some(true))
}

/// Sets the per-version data of `plural.group` (version name → data), replacing the old.
pub(crate) fn set(group: &str, plural: &str, versions: Vec<(String, Served)>) {
    let mut served = SERVED
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = served.get_or_insert_with(HashMap::new);
    map.retain(|(g, _, p), _| !(g == group && p == plural));
    for (version, data) in versions {
        map.insert(
            (group.to_owned(), version, plural.to_owned()),
            Arc::new(data),
        );
    }
}

/// Serves the definition `crd` (replacing what `plural.group` served).
pub fn define(group: &str, plural: &str, crd: &Value) {
    let data = served_versions(crd)
        .map(|v| {
            let served = Served {
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                columns: v["additionalPrinterColumns"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                scale: v.pointer("/subresources/scale").cloned(),
            };
            (text(v, "/name").to_owned(), served)
        })
        .collect();
    set(group, plural, data);
    custom::define(group, plural, &versions_of(crd));
}

/// Stops serving `plural.group`.
pub fn remove(group: &str, plural: &str) {
    custom::remove(group, plural);
    set(group, plural, Vec::new());
}

/// The data of the version `resource` serves, if it is a custom one.
pub fn get(resource: &Resource) -> Option<Arc<Served>> {
    let served = SERVED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    served
        .as_ref()?
        .get(&(
            resource.group.to_owned(),
            resource.version.to_owned(),
            resource.plural.to_owned(),
        ))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::tests::crontab;

    #[test]
    fn served_versions_become_resources() {
        let versions = versions_of(&crontab());
        assert_eq!(versions.len(), 2);
        assert_eq!(
            (
                versions[0].singular.as_str(),
                versions[0].namespaced,
                versions[0].status
            ),
            ("crontab", true, true)
        );
        assert!(!versions[1].status);
        assert_eq!(versions[1].short_names, ["ct"]);
    }
}
