//! The ServiceAccount controller: every namespace that is not being deleted has a `default`
//! ServiceAccount (recreated if deleted), as upstream's `serviceaccount-controller` keeps it.

use crate::Context;
use crate::informer::Informer;
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::time::Duration;

/// The accounts every namespace gets.
const ACCOUNTS: &[&str] = &["default"];

/// The controller.
pub struct ServiceAccountController {
    client: kube::Client,
    namespaces: Arc<Informer<Namespace>>,
    accounts: Arc<Informer<ServiceAccount>>,
    queue: Arc<WorkQueue>,
}

impl std::fmt::Debug for ServiceAccountController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountController")
            .finish_non_exhaustive()
    }
}

impl ServiceAccountController {
    /// The controller, with its handlers on the namespace and ServiceAccount informers.
    pub fn new(ctx: &Context) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            ctx.namespaces.on(move |_, new| {
                if let Some(namespace) = new {
                    queue.add(namespace.metadata.name.clone().unwrap_or_default());
                }
            });
        }
        {
            let queue = Arc::clone(&queue);
            ctx.service_accounts.on(move |old, new| {
                // A deleted account comes back.
                if let (Some(account), None) = (old, new) {
                    queue.add(account.metadata.namespace.clone().unwrap_or_default());
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            namespaces: Arc::clone(&ctx.namespaces),
            accounts: Arc::clone(&ctx.service_accounts),
            queue,
        })
    }
}

impl Reconcile for ServiceAccountController {
    fn name(&self) -> &'static str {
        "serviceaccount-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, namespace: String) -> anyhow::Result<Option<Duration>> {
        let active = self
            .namespaces
            .get(&namespace)
            .is_some_and(|n| n.metadata.deletion_timestamp.is_none());
        if !active {
            return Ok(None);
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &namespace);
        for name in ACCOUNTS {
            if self.accounts.get(&format!("{namespace}/{name}")).is_some() {
                continue;
            }
            let account: ServiceAccount = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": namespace},
            }))?;
            match api.create(&PostParams::default(), &account).await {
                Ok(_) => {}
                // Already there (the cache lags), or the namespace began terminating.
                Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}
