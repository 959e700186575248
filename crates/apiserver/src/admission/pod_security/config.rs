//! Upstream's `PodSecurityConfiguration`, read from the PodSecurity entry of an
//! `AdmissionConfiguration` file (`--admission-control-config-file`): the policies namespaces
//! without labels get, and the users, namespaces and runtime classes exempt from every check.

use super::{Level, Policy};
use serde_json::Value;

/// The plugin's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// The `enforce` policy of a namespace without the label.
    pub enforce: Policy,
    /// The `warn` policy of a namespace without the label.
    pub warn: Policy,
    /// Users whose requests are not checked (exact names).
    pub exempt_users: Vec<String>,
    /// Namespaces whose pods are not checked.
    pub exempt_namespaces: Vec<String>,
    /// Runtime classes whose pods are not checked.
    pub exempt_runtime_classes: Vec<String>,
}

impl Default for Configuration {
    fn default() -> Self {
        Self {
            enforce: Policy::latest(Level::Privileged),
            warn: Policy::latest(Level::Privileged),
            exempt_users: Vec::new(),
            exempt_namespaces: Vec::new(),
            exempt_runtime_classes: Vec::new(),
        }
    }
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

impl Configuration {
    /// The PodSecurity configuration in an `AdmissionConfiguration` (YAML or JSON); the
    /// default when the file configures other plugins only.
    pub fn from_admission_configuration(text: &str) -> Result<Self, String> {
        let file: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        if file.get("kind").and_then(Value::as_str) != Some("AdmissionConfiguration") {
            return Err("not an AdmissionConfiguration".to_owned());
        }
        let Some(plugin) = file
            .get("plugins")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str) == Some("PodSecurity"))
        else {
            return Ok(Self::default());
        };
        let configuration = plugin.get("configuration").ok_or_else(|| {
            "plugins[PodSecurity]: only an inline configuration is read (not a path)".to_owned()
        })?;
        if configuration.get("kind").and_then(Value::as_str) != Some("PodSecurityConfiguration") {
            return Err(
                "plugins[PodSecurity].configuration: not a PodSecurityConfiguration".into(),
            );
        }
        let defaults = configuration
            .get("defaults")
            .cloned()
            .unwrap_or(Value::Null);
        let policy = |mode: &str| -> Result<Policy, String> {
            let level = match defaults.get(mode).and_then(Value::as_str) {
                None => Level::Privileged,
                Some(text) => Level::parse(text).ok_or_else(|| {
                    format!("defaults.{mode}: must be one of privileged, baseline, restricted")
                })?,
            };
            let version = defaults
                .get(format!("{mode}-version"))
                .and_then(Value::as_str)
                .unwrap_or("latest");
            Ok(Policy::at(level, version))
        };
        let exemptions = configuration
            .get("exemptions")
            .cloned()
            .unwrap_or(Value::Null);
        let exempt_users = strings(&exemptions, "usernames");
        if exempt_users.iter().any(String::is_empty) {
            return Err("exemptions.usernames: username must not be empty".to_owned());
        }
        Ok(Self {
            enforce: policy("enforce")?,
            warn: policy("warn")?,
            exempt_users,
            exempt_namespaces: strings(&exemptions, "namespaces"),
            exempt_runtime_classes: strings(&exemptions, "runtimeClasses"),
        })
    }

    /// Whether a pod in `namespace`, created by `user`, escapes every check.
    pub fn exempt(&self, namespace: &str, user: &str, pod: &Value) -> bool {
        let runtime_class = pod
            .pointer("/spec/runtimeClassName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.exempt_namespaces.iter().any(|n| n == namespace)
            || self.exempt_users.iter().any(|u| u == user)
            || (!runtime_class.is_empty()
                && self
                    .exempt_runtime_classes
                    .iter()
                    .any(|r| r == runtime_class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: v1.29, warn: restricted}
    exemptions: {usernames: [ops], namespaces: [kube-system], runtimeClasses: [kata]}
";

    #[test]
    fn an_admission_configuration_sets_defaults_and_exemptions() {
        let config = Configuration::from_admission_configuration(FILE).unwrap();
        assert_eq!(config.enforce, Policy::at(Level::Baseline, "v1.29"));
        assert_eq!(config.warn, Policy::latest(Level::Restricted));
        let pod = json!({"spec": {"runtimeClassName": "kata"}});
        assert!(config.exempt("default", "alice", &pod));
        assert!(config.exempt("kube-system", "alice", &json!({})));
        assert!(config.exempt("default", "ops", &json!({})));
        assert!(!config.exempt("default", "alice", &json!({})));
        let bad = FILE.replace("enforce: baseline", "enforce: strict");
        assert!(Configuration::from_admission_configuration(&bad).is_err());
        let other =
            "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins: []\n";
        assert_eq!(
            Configuration::from_admission_configuration(other).unwrap(),
            Configuration::default()
        );
    }
}
