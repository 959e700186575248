//! The root CA publisher (upstream's `root-ca-cert-publisher`): every namespace has the
//! ConfigMap `kube-root-ca.crt` holding the cluster authority's certificate as `ca.crt`, which
//! the ServiceAccount volume projects into pods so that in-cluster clients trust the API
//! server. It is recreated when deleted and rewritten when changed.

use crate::Context;
use crate::informer::Informer;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The ConfigMap's name.
pub const NAME: &str = "kube-root-ca.crt";

/// How often every namespace is looked at again (a deleted ConfigMap is noticed then).
const RESYNC: Duration = Duration::from_secs(30);

const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The controller.
pub struct RootCaPublisher {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    queue: Arc<WorkQueue>,
    ca_pem: String,
}

impl std::fmt::Debug for RootCaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCaPublisher").finish_non_exhaustive()
    }
}

impl RootCaPublisher {
    /// The publisher of `ca_pem`.
    pub fn new(ctx: &Context, ca_pem: String) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.namespaces.on(move |_, new| {
                if let Some(namespace) = new {
                    queue.add(namespace.metadata.name.clone().unwrap_or_default());
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            namespaces: Arc::clone(&ctx.namespaces),
            queue,
            ca_pem,
        })
    }

    fn wanted(&self, namespace: &str) -> ConfigMap {
        ConfigMap {
            metadata: kube::api::ObjectMeta {
                name: Some(NAME.into()),
                namespace: Some(namespace.into()),
                annotations: Some(BTreeMap::from([(
                    "kubernetes.io/description".to_owned(),
                    DESCRIPTION.to_owned(),
                )])),
                ..Default::default()
            },
            data: Some(BTreeMap::from([("ca.crt".to_owned(), self.ca_pem.clone())])),
            ..Default::default()
        }
    }
}

impl Reconcile for RootCaPublisher {
    fn name(&self) -> &'static str {
        "root-ca-cert-publisher"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(namespace) = self.namespaces.get(&key) else {
            return Ok(None);
        };
        let terminating = namespace.metadata.deletion_timestamp.is_some()
            || namespace.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
        if terminating {
            return Ok(None);
        }
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &key);
        let wanted = self.wanted(&key);
        match api.get_opt(NAME).await? {
            None => match api.create(&PostParams::default(), &wanted).await {
                Ok(_) => {}
                // Created meanwhile, or the namespace started terminating.
                Err(kube::Error::Api(status)) if status.code == 409 || status.code == 403 => {}
                Err(e) => return Err(e.into()),
            },
            Some(current) if current.data != wanted.data => {
                let mut updated = current;
                updated.data = wanted.data;
                api.replace(NAME, &PostParams::default(), &updated).await?;
            }
            Some(_) => {}
        }
        Ok(Some(RESYNC))
    }
}
