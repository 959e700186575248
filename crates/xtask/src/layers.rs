//! The crate layering rule, checked over `cargo metadata`: every workspace crate has a layer in
//! `[workspace.metadata.layers]` of the root `Cargo.toml`, and may depend (normally, for builds
//! or for tests) only on workspace crates of a strictly lower layer. This is what keeps the
//! dependency graph a DAG that points down, as upstream Kubernetes keeps its own with
//! import-restriction files.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A workspace crate with no layer assigned.
    Unlisted {
        /// The crate.
        krate: String,
    },
    /// A dependency on a crate of the same layer or above.
    NotDownward {
        /// The depending crate and its layer.
        from: (String, u64),
        /// The dependency and its layer.
        to: (String, u64),
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlisted { krate } => write!(
                f,
                "{krate} has no layer: add it to [workspace.metadata.layers] in Cargo.toml"
            ),
            Self::NotDownward { from, to } => write!(
                f,
                "{} (layer {}) depends on {} (layer {}): dependencies must point to a lower layer",
                from.0, from.1, to.0, to.1
            ),
        }
    }
}

/// Checks the output of `cargo metadata --format-version 1 --no-deps`.
pub fn check(metadata: &Value) -> Result<Vec<Violation>, String> {
    let layers: BTreeMap<&str, u64> = metadata
        .pointer("/metadata/layers")
        .and_then(Value::as_object)
        .ok_or("no [workspace.metadata.layers] table in the workspace Cargo.toml")?
        .iter()
        .map(|(name, layer)| {
            layer
                .as_u64()
                .map(|l| (name.as_str(), l))
                .ok_or_else(|| format!("the layer of {name} is not a whole number"))
        })
        .collect::<Result<_, _>>()?;
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("cargo metadata has no packages")?;
    let members: Vec<&str> = packages
        .iter()
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    let mut violations = Vec::new();
    for package in packages {
        let Some(name) = package.get("name").and_then(Value::as_str) else {
            continue;
        };
        let Some(&layer) = layers.get(name) else {
            violations.push(Violation::Unlisted {
                krate: name.to_owned(),
            });
            continue;
        };
        let dependencies = package.get("dependencies").and_then(Value::as_array);
        for dependency in dependencies.into_iter().flatten() {
            let Some(dep) = dependency.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !members.contains(&dep) {
                continue; // a crates.io dependency
            }
            // An unlisted dependency is reported on its own; compare only known layers.
            if let Some(&dep_layer) = layers.get(dep)
                && dep_layer >= layer
            {
                violations.push(Violation::NotDownward {
                    from: (name.to_owned(), layer),
                    to: (dep.to_owned(), dep_layer),
                });
            }
        }
    }
    Ok(violations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata(deps: &[(&str, &[&str])]) -> Value {
        let packages: Vec<Value> = deps
            .iter()
            .map(|(name, deps)| {
                let deps: Vec<Value> = deps
                    .iter()
                    .map(|d| json!({"name": d, "kind": null}))
                    .collect();
                json!({"name": name, "dependencies": deps})
            })
            .collect();
        json!({
            "packages": packages,
            "metadata": {"layers": {"gantry-api": 0, "gantry-store": 1, "gantry-scheduler": 2,
                                    "gantry-apiserver": 2, "gantry": 5}}
        })
    }

    #[test]
    fn downward_dependencies_pass() {
        let m = metadata(&[
            ("gantry-api", &["serde"]),
            ("gantry-store", &["gantry-api", "tokio"]),
            ("gantry", &["gantry-store", "gantry-api"]),
        ]);
        assert_eq!(check(&m).unwrap(), vec![]);
    }

    #[test]
    fn an_upward_dependency_is_reported() {
        let m = metadata(&[("gantry-store", &["gantry"]), ("gantry", &[])]);
        let violations = check(&m).unwrap();
        assert_eq!(
            violations,
            vec![Violation::NotDownward {
                from: ("gantry-store".into(), 1),
                to: ("gantry".into(), 5)
            }]
        );
        assert!(
            violations[0]
                .to_string()
                .contains("must point to a lower layer")
        );
    }

    #[test]
    fn a_dependency_within_one_layer_is_reported() {
        let m = metadata(&[
            ("gantry-scheduler", &["gantry-apiserver"]),
            ("gantry-apiserver", &[]),
        ]);
        assert_eq!(check(&m).unwrap().len(), 1);
    }

    #[test]
    fn a_crate_without_a_layer_is_reported() {
        let m = metadata(&[("gantry-new", &["gantry-store"]), ("gantry-store", &[])]);
        assert_eq!(
            check(&m).unwrap(),
            vec![Violation::Unlisted {
                krate: "gantry-new".into()
            }]
        );
    }

    #[test]
    fn a_missing_layer_table_is_an_error() {
        assert!(
            check(&json!({"packages": []}))
                .unwrap_err()
                .contains("no [workspace.metadata.layers]")
        );
    }
}
