//! Shared informers: one watch per kind for the whole controller manager, feeding one
//! in-memory copy of every object of that kind, which every controller reads; and handlers,
//! called with the old and new object on every change, that only enqueue keys (upstream's
//! shared informer factory). A re-list after a broken watch reports what vanished meanwhile
//! as deleted.

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

/// What a kind needs to be informed about.
pub trait Kind:
    kube::Resource<DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Kind for K where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

/// Called on a change: `(None, Some(new))` added, `(Some(old), Some(new))` updated,
/// `(Some(old), None)` deleted.
pub type Handler<K> = Box<dyn Fn(Option<&K>, Option<&K>) + Send + Sync>;

/// The key of an object: `namespace/name`, or `name` for cluster-scoped ones (upstream's
/// `MetaNamespaceKeyFunc`).
pub fn key_of<K: kube::Resource>(object: &K) -> String {
    let meta = object.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(namespace) if !namespace.is_empty() => format!("{namespace}/{name}"),
        _ => name.to_owned(),
    }
}

/// Splits a key into namespace (empty for cluster-scoped objects) and name.
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

/// One kind's shared copy and its handlers.
pub struct Informer<K> {
    objects: RwLock<BTreeMap<String, Arc<K>>>,
    handlers: Mutex<Vec<Handler<K>>>,
    synced: tokio::sync::watch::Sender<bool>,
}

impl<K> std::fmt::Debug for Informer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informer")
            .field("kind", &std::any::type_name::<K>())
            .finish_non_exhaustive()
    }
}

impl<K: Kind> Default for Informer<K> {
    fn default() -> Self {
        Self {
            objects: RwLock::default(),
            handlers: Mutex::default(),
            synced: tokio::sync::watch::channel(false).0,
        }
    }
}

impl<K: Kind> Informer<K> {
    /// Adds a handler (before `run`, so that it sees the first list).
    pub fn on(&self, handler: impl Fn(Option<&K>, Option<&K>) + Send + Sync + 'static) {
        self.lock_handlers().push(Box::new(handler));
    }

    fn lock_handlers(&self) -> std::sync::MutexGuard<'_, Vec<Handler<K>>> {
        self.handlers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<K>>> {
        self.objects
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<K>>> {
        self.objects
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The object with this key, if known.
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().get(key).cloned()
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().values().cloned().collect()
    }

    /// Every object in `namespace` (keys sort by namespace first, so this is one range).
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let prefix = format!("{namespace}/");
        self.read()
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(_, object)| Arc::clone(object))
            .collect()
    }

    /// The key of the object of this kind that controls the object with `meta` (its
    /// controller reference names this kind, and this informer holds an object of that name
    /// with that UID).
    pub fn controller_of(
        &self,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    ) -> Option<String> {
        let owner = meta
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true) && r.kind == K::kind(&()))?;
        let key = format!("{}/{}", meta.namespace.as_deref()?, owner.name);
        let object = self.get(&key)?;
        (object.meta().uid.as_deref() == Some(owner.uid.as_str())).then_some(key)
    }

    /// Waits until the first list has been taken in.
    pub async fn synced(&self) {
        let mut synced = self.synced.subscribe();
        let _ = synced.wait_for(|done| *done).await;
    }

    /// Takes in an added or changed object and tells the handlers. Its `managedFields` are
    /// dropped: no controller reads them, and they are about half of an object's size (as
    /// upstream's informers trim them).
    pub fn apply(&self, mut object: K) {
        object.meta_mut().managed_fields = None;
        let key = key_of(&object);
        let object = Arc::new(object);
        let old = self.write().insert(key, Arc::clone(&object));
        for handler in self.lock_handlers().iter() {
            handler(old.as_deref(), Some(&object));
        }
    }

    /// Forgets a deleted object and tells the handlers.
    pub fn delete(&self, key: &str) {
        let Some(old) = self.write().remove(key) else {
            return;
        };
        for handler in self.lock_handlers().iter() {
            handler(Some(&old), None);
        }
    }

    /// Watches `api` until aborted, keeping the copy current; broken watches resume by
    /// themselves (kube-rs' watcher with its back-off).
    pub async fn run(self: Arc<Self>, api: Api<K>) {
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        let mut listed: Option<HashSet<String>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Init) => listed = Some(HashSet::new()),
                Ok(watcher::Event::InitApply(object)) => {
                    if let Some(listed) = listed.as_mut() {
                        listed.insert(key_of(&object));
                    }
                    self.apply(object);
                }
                Ok(watcher::Event::InitDone) => {
                    // What the new list lacks was deleted while the watch was down.
                    let seen = listed.take().unwrap_or_default();
                    let gone: Vec<String> = self
                        .read()
                        .keys()
                        .filter(|key| !seen.contains(*key))
                        .cloned()
                        .collect();
                    for key in gone {
                        self.delete(&key);
                    }
                    self.synced.send_replace(true);
                }
                Ok(watcher::Event::Apply(object)) => self.apply(object),
                Ok(watcher::Event::Delete(object)) => self.delete(&key_of(&object)),
                Err(e) => tracing::warn!(
                    error = %e,
                    kind = %K::kind(&()),
                    "watching failed; retrying"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(namespace: &str, name: &str, label: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"namespace": namespace, "name": name, "labels": {"l": label}}
        }))
        .unwrap()
    }

    #[test]
    fn handlers_see_adds_updates_and_deletes_with_the_old_object() {
        let informer = Informer::<Pod>::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        informer.on(move |old, new| {
            let label = |p: Option<&Pod>| {
                p.and_then(|p| p.metadata.labels.as_ref())
                    .and_then(|l| l.get("l").cloned())
            };
            seen.lock().unwrap().push((label(old), label(new)));
        });
        informer.apply(pod("a", "p", "1"));
        informer.apply(pod("a", "p", "2"));
        informer.delete("a/p");
        informer.delete("a/p");
        let log = log.lock().unwrap();
        assert_eq!(
            *log,
            [
                (None, Some("1".to_owned())),
                (Some("1".to_owned()), Some("2".to_owned())),
                (Some("2".to_owned()), None),
            ]
        );
    }

    #[test]
    fn a_controller_is_found_by_kind_name_and_uid() {
        let sets = Informer::<k8s_openapi::api::apps::v1::ReplicaSet>::default();
        sets.apply(
            serde_json::from_value(
                serde_json::json!({"metadata": {"namespace": "a", "name": "web", "uid": "u1"}}),
            )
            .unwrap(),
        );
        let owned = |kind: &str, uid: &str| -> Pod {
            serde_json::from_value(serde_json::json!({"metadata": {"namespace": "a", "name": "p", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": kind, "name": "web", "uid": uid, "controller": true}]}}))
            .unwrap()
        };
        assert_eq!(
            sets.controller_of(&owned("ReplicaSet", "u1").metadata),
            Some("a/web".to_owned())
        );
        assert_eq!(
            sets.controller_of(&owned("ReplicaSet", "u2").metadata),
            None,
            "another object by that name"
        );
        assert_eq!(
            sets.controller_of(&owned("StatefulSet", "u1").metadata),
            None,
            "another kind"
        );
    }

    #[test]
    fn a_namespace_lists_only_its_own_objects() {
        let informer = Informer::<Pod>::default();
        for (namespace, name) in [("a", "x"), ("ab", "y"), ("a", "z"), ("b", "w")] {
            informer.apply(pod(namespace, name, ""));
        }
        let names: Vec<String> = informer
            .list_namespace("a")
            .iter()
            .map(|p| key_of(&**p))
            .collect();
        assert_eq!(names, ["a/x", "a/z"]);
        assert_eq!(informer.list().len(), 4);
        assert_eq!(split_key("a/x"), ("a", "x"));
        assert_eq!(split_key("node-1"), ("", "node-1"));
    }
}
