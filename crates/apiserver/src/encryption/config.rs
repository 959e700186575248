//! The `EncryptionConfiguration` file (`apiserver.config.k8s.io/v1`), YAML or JSON:
//!
//! ```yaml
//! apiVersion: apiserver.config.k8s.io/v1
//! kind: EncryptionConfiguration
//! resources:
//!   - resources: [secrets]
//!     providers:
//!       - aesgcm: {keys: [{name: key1, secret: <base64 of 32 random bytes>}]}
//!       - identity: {}
//! ```

use super::aesgcm::{self, Key};
use base64::Engine;
use serde_json::Value;

/// One provider.
#[derive(Debug)]
pub enum Provider {
    /// AES-GCM with these keys (the first encrypts).
    AesGcm(Vec<Key>),
    /// Plain.
    Identity,
}

/// The providers of one group of resources, by store key prefix.
#[derive(Debug)]
pub struct Rule {
    /// Store key prefixes (`/registry/core/secrets/`).
    pub prefixes: Vec<String>,
    /// The providers, in order.
    pub providers: Vec<Provider>,
}

/// A parsed configuration.
#[derive(Debug, Default)]
pub struct EncryptionConfig {
    /// The rules, in file order (the first rule naming a resource wins).
    pub rules: Vec<Rule>,
}

/// The store key prefix of `secrets` or `<plural>.<group>`.
fn prefix_of(resource: &str) -> Result<String, String> {
    if resource.contains('*') {
        return Err(format!(
            "resource {resource:?}: wildcards are not supported"
        ));
    }
    Ok(match resource.split_once('.') {
        None => format!("/registry/core/{resource}/"),
        Some((plural, group)) => format!("/registry/{group}/{plural}/"),
    })
}

fn provider(entry: &Value) -> Result<Provider, String> {
    let map = entry.as_object().ok_or("a provider must be a map")?;
    let (kind, settings) = map.iter().next().ok_or("an empty provider")?;
    match kind.as_str() {
        "identity" => Ok(Provider::Identity),
        "aesgcm" => {
            let mut keys = Vec::new();
            for key in settings
                .get("keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = key
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("an aesgcm key needs a name")?;
                let secret = key
                    .get("secret")
                    .and_then(Value::as_str)
                    .ok_or("an aesgcm key needs a secret")?;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(secret)
                    .map_err(|e| format!("aesgcm key {name:?}: the secret is not base64: {e}"))?;
                keys.push(Key::new(name, &raw)?);
            }
            if keys.is_empty() {
                return Err("aesgcm needs at least one key".into());
            }
            Ok(Provider::AesGcm(keys))
        }
        other => Err(format!(
            "provider {other:?} is not supported (aesgcm and identity are)"
        )),
    }
}

impl EncryptionConfig {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        if document.get("kind").and_then(Value::as_str) != Some("EncryptionConfiguration") {
            return Err("not an EncryptionConfiguration".into());
        }
        let mut rules = Vec::new();
        for rule in document
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let prefixes = rule
                .get("resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(prefix_of)
                .collect::<Result<Vec<_>, _>>()?;
            let providers = rule
                .get("providers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(provider)
                .collect::<Result<Vec<_>, _>>()?;
            if prefixes.is_empty() || providers.is_empty() {
                return Err("every entry needs resources and providers".into());
            }
            rules.push(Rule {
                prefixes,
                providers,
            });
        }
        Ok(Self { rules })
    }

    /// A configuration encrypting Secrets with a new random AES-256 key (`gantry server
    /// --secrets-encryption` writes it at first start, as k3s does).
    pub fn generate() -> Result<String, String> {
        use ring::rand::SecureRandom;
        let mut secret = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| "no randomness".to_owned())?;
        let name = format!(
            "gantry-{}",
            crate::meta::new_uid().split('-').next().unwrap_or("key")
        );
        Ok(format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: {name}\n        secret: {}\n  - identity: {{}}\n",
            base64::engine::general_purpose::STANDARD.encode(secret)
        ))
    }

    /// The rule for a store key, if any.
    pub fn rule_for(&self, key: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|rule| rule.prefixes.iter().any(|p| key.starts_with(p.as_str())))
    }
}

impl Rule {
    /// What is stored for `plain` under `key`.
    pub fn encrypt(&self, key: &str, plain: &[u8]) -> Result<Vec<u8>, String> {
        match self.providers.first() {
            Some(Provider::AesGcm(keys)) => keys[0].seal(key, plain),
            Some(Provider::Identity) | None => Ok(plain.to_vec()),
        }
    }

    /// What was written, from what is stored under `key`.
    pub fn decrypt(&self, key: &str, stored: &[u8]) -> Result<Vec<u8>, String> {
        if let Some(rest) = stored.strip_prefix(aesgcm::PREFIX.as_bytes()) {
            let colon = rest
                .iter()
                .position(|b| *b == b':')
                .ok_or("a malformed encrypted value")?;
            let name = String::from_utf8_lossy(&rest[..colon]);
            for provider in &self.providers {
                if let Provider::AesGcm(keys) = provider
                    && let Some(found) = keys.iter().find(|k| k.name() == name)
                {
                    return found.open(key, &rest[colon + 1..]);
                }
            }
            return Err(format!(
                "no aesgcm key named {name:?} is configured to read {key}"
            ));
        }
        if self
            .providers
            .iter()
            .any(|p| matches!(p, Provider::Identity))
        {
            return Ok(stored.to_vec());
        }
        Err(format!(
            "{key} is stored unencrypted and no identity provider is configured to read it"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_configuration_round_trips_and_binds_values_to_keys() {
        let config = EncryptionConfig::parse(&EncryptionConfig::generate().unwrap()).unwrap();
        let key = "/registry/core/secrets/default/s";
        let rule = config.rule_for(key).unwrap();
        assert!(
            config
                .rule_for("/registry/core/configmaps/default/c")
                .is_none()
        );
        let stored = rule.encrypt(key, b"{\"data\":\"top\"}").unwrap();
        assert!(stored.starts_with(b"k8s:enc:aesgcm:v1:gantry-"));
        assert!(!stored.windows(3).any(|w| w == b"top"));
        assert_eq!(rule.decrypt(key, &stored).unwrap(), b"{\"data\":\"top\"}");
        // Moved to another key, the value does not authenticate.
        assert!(
            rule.decrypt("/registry/core/secrets/default/other", &stored)
                .is_err()
        );
        // Plain values written before encryption are read through identity.
        assert_eq!(rule.decrypt(key, b"{}").unwrap(), b"{}");
    }

    #[test]
    fn keys_rotate_by_adding_the_new_one_first() {
        let old = EncryptionConfig::parse(&EncryptionConfig::generate().unwrap()).unwrap();
        let key = "/registry/core/secrets/a/b";
        let stored = old.rules[0].encrypt(key, b"v").unwrap();
        let new_text = EncryptionConfig::generate().unwrap();
        let new_key = new_text.split("  - identity").next().unwrap();
        let both = EncryptionConfig::parse(&format!(
            "{new_key}{}",
            "      - name: old\n        secret: AAAAAAAAAAAAAAAAAAAAAA==\n  - identity: {}\n"
        ))
        .unwrap();
        // Without the old key the old value cannot be read.
        assert!(both.rules[0].decrypt(key, &stored).is_err());
        let rewritten = both.rules[0].encrypt(key, b"v").unwrap();
        assert_eq!(both.rules[0].decrypt(key, &rewritten).unwrap(), b"v");
    }

    #[test]
    fn unsupported_providers_are_refused() {
        let text = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms: {name: x}\n";
        assert!(
            EncryptionConfig::parse(text)
                .unwrap_err()
                .contains("not supported")
        );
    }
}
