//! The webhook configurations, kept in memory and followed from the store, so that a write
//! in a cluster without webhooks costs no store read to find that out.

use crate::follow;
use crate::registry::Registry;
use crate::status::ApiError;
use gantry_store::KeyValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

const MUTATING: &str = "/registry/admissionregistration.k8s.io/mutatingwebhookconfigurations/";
const VALIDATING: &str = "/registry/admissionregistration.k8s.io/validatingwebhookconfigurations/";

/// Store key → configuration, per kind (keys sort by name, the order webhooks are called in).
#[derive(Debug, Default)]
pub struct Configurations {
    mutating: BTreeMap<String, Value>,
    validating: BTreeMap<String, Value>,
}

/// Shared by every request.
pub type Shared = Arc<RwLock<Configurations>>;

impl Configurations {
    fn put(&mut self, key: &str, value: &[u8]) {
        let Ok(object) = serde_json::from_slice::<Value>(value) else {
            return;
        };
        if key.starts_with(MUTATING) {
            self.mutating.insert(key.to_owned(), object);
        } else if key.starts_with(VALIDATING) {
            self.validating.insert(key.to_owned(), object);
        }
    }

    fn delete(&mut self, key: &str) {
        self.mutating.remove(key);
        self.validating.remove(key);
    }

    /// The mutating and the validating configurations, in name order.
    pub fn lists(&self) -> (Vec<Value>, Vec<Value>) {
        (
            self.mutating.values().cloned().collect(),
            self.validating.values().cloned().collect(),
        )
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.mutating.is_empty() && self.validating.is_empty()
    }
}

/// The configurations as a [`follow::View`].
#[derive(Clone)]
struct Followed(Shared);

impl follow::View for Followed {
    const WHAT: &'static str = "admission webhook configurations";

    fn prefixes(&self) -> Vec<String> {
        vec![MUTATING.to_owned(), VALIDATING.to_owned()]
    }

    fn reload(&self, kvs: &[KeyValue]) {
        let mut fresh = Configurations::default();
        for kv in kvs {
            fresh.put(&kv.key, &kv.value);
        }
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    fn apply(&self, changes: &[(String, Option<&[u8]>)]) {
        let mut configurations = self.0.write().unwrap_or_else(PoisonError::into_inner);
        for (key, value) in changes {
            match value {
                Some(value) => configurations.put(key, value),
                None => configurations.delete(key),
            }
        }
    }
}

/// Loads the configurations, then follows them in the background.
pub async fn start(registry: &Registry) -> Result<(), ApiError> {
    follow::start(registry, Followed(registry.webhooks().clone())).await
}
