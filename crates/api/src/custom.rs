//! Resources defined at run time by CustomResourceDefinitions, beside the built-in
//! [`catalogue`](crate::catalogue): the API server registers each served version of an
//! established definition here, and every lookup (`catalogue::find`, discovery, the generic
//! registry) then sees it like a built-in resource.
//!
//! Resources are handed out as `&'static` like the built-in ones, so a registered resource's
//! data is leaked: once per distinct definition content (re-registering an unchanged
//! definition reuses it), which bounds the leak by the number of definition edits.

use crate::catalogue::{Resource, Subresource};
use std::sync::RwLock;

/// The verbs of a custom resource (as upstream's apiextensions server).
const VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];
/// The verbs of the `status` and `scale` subresources.
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// One served version of a definition, as the API server reads it from the CRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The group (`stable.example.com`).
    pub group: String,
    /// The version (`v1`).
    pub version: String,
    /// The kind (`CronTab`).
    pub kind: String,
    /// The plural (`crontabs`).
    pub plural: String,
    /// The singular (`crontab`).
    pub singular: String,
    /// `Namespaced` scope.
    pub namespaced: bool,
    /// Short names (`ct`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether the version has the `status` subresource.
    pub status: bool,
    /// Whether the version has the `scale` subresource (an `autoscaling/v1` `Scale`).
    pub scale: bool,
}

static CUSTOM: RwLock<Vec<&'static Resource>> = RwLock::new(Vec::new());

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn leak_list(items: &[String]) -> &'static [&'static str] {
    Box::leak(
        items
            .iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// Whether the registered `resource` already says what `version` says.
fn same(resource: &Resource, version: &Version) -> bool {
    resource.group == version.group
        && resource.version == version.version
        && resource.kind == version.kind
        && resource.plural == version.plural
        && resource.singular == version.singular
        && resource.namespaced == version.namespaced
        && resource.short_names.iter().eq(version.short_names.iter())
        && resource.categories.iter().eq(version.categories.iter())
        && resource.subresource("status").is_some() == version.status
        && resource.subresource("scale").is_some() == version.scale
}

fn to_resource(version: &Version) -> &'static Resource {
    // In discovery order: `scale`, then `status`.
    let mut subresources = Vec::new();
    if version.scale {
        subresources.push(Subresource {
            name: "scale",
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: STATUS_VERBS,
        });
    }
    if version.status {
        subresources.push(Subresource {
            name: "status",
            group: leak(&version.group),
            version: leak(&version.version),
            kind: leak(&version.kind),
            verbs: STATUS_VERBS,
        });
    }
    let subresources: &'static [Subresource] = Box::leak(subresources.into_boxed_slice());
    Box::leak(Box::new(Resource {
        group: leak(&version.group),
        version: leak(&version.version),
        kind: leak(&version.kind),
        plural: leak(&version.plural),
        singular: leak(&version.singular),
        namespaced: version.namespaced,
        verbs: VERBS,
        short_names: leak_list(&version.short_names),
        categories: leak_list(&version.categories),
        subresources,
    }))
}

/// Serves exactly `versions` for the definition `plural.group` (replacing what it served).
pub fn define(group: &str, plural: &str, versions: &[Version]) {
    let mut custom = CUSTOM
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut kept: Vec<&'static Resource> = Vec::with_capacity(custom.len());
    let mut old: Vec<&'static Resource> = Vec::new();
    for resource in custom.drain(..) {
        if resource.group == group && resource.plural == plural {
            old.push(resource);
        } else {
            kept.push(resource);
        }
    }
    for version in versions {
        let reused = old.iter().copied().find(|r| same(r, version));
        kept.push(reused.unwrap_or_else(|| to_resource(version)));
    }
    *custom = kept;
}

/// Stops serving the definition `plural.group`.
pub fn remove(group: &str, plural: &str) {
    define(group, plural, &[]);
}

/// Every registered custom resource.
pub fn all() -> Vec<&'static Resource> {
    CUSTOM
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Orders versions as upstream does for custom resources: GA before beta before alpha, higher
/// numbers first within each, anything else last alphabetically.
pub fn version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    fn rank(v: &str) -> (u8, i64, i64, String) {
        let parse = |v: &str| -> Option<(u8, i64, i64)> {
            let rest = v.strip_prefix('v')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: i64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((0, -major, 0));
            }
            for (stage, name) in [(1, "beta"), (2, "alpha")] {
                if let Some(n) = tail.strip_prefix(name) {
                    let minor: i64 = n.parse().ok()?;
                    return Some((stage, -major, -minor));
                }
            }
            None
        };
        match parse(v) {
            Some((stage, major, minor)) => (stage, major, minor, String::new()),
            None => (3, 0, 0, v.to_owned()),
        }
    }
    rank(a).cmp(&rank(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_ga_then_beta_then_alpha() {
        let mut versions = vec![
            "v1alpha1", "v2beta1", "v1", "foo", "v2", "v1beta2", "v1beta1",
        ];
        versions.sort_by(|a, b| version_priority(a, b));
        assert_eq!(
            versions,
            [
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"
            ]
        );
    }
}
