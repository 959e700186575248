//! CertificateSigningRequests: upstream's `csrapproving` (kubelet client certificates asked
//! for with a bootstrap token, or renewed by the node itself, are approved) and `csrsigning`
//! (approved requests for the built-in signers are signed by the cluster authority) in one
//! controller, since both look at the same requests.

pub mod approve;
pub mod sign;

use crate::Context;
use crate::informer::{Informer, key_of};
use crate::queue::WorkQueue;
use crate::runner::Reconcile;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The controller.
pub struct CertificateController {
    client: kube::Client,
    requests: Arc<Informer<CertificateSigningRequest>>,
    queue: Arc<WorkQueue>,
    authority: Arc<gantry_pki::Authority>,
    /// The longest validity granted (upstream's `--cluster-signing-duration`, a year).
    max_validity: Duration,
}

impl std::fmt::Debug for CertificateController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateController")
            .finish_non_exhaustive()
    }
}

fn condition(request: &CertificateSigningRequest, kind: &str) -> bool {
    request
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == kind && c.status == "True"))
}

impl CertificateController {
    /// The controller over `requests` (an informer the caller runs), signing with
    /// `authority` for at most `max_validity`.
    pub fn new(
        ctx: &Context,
        requests: Arc<Informer<CertificateSigningRequest>>,
        authority: Arc<gantry_pki::Authority>,
        max_validity: Duration,
    ) -> Arc<Self> {
        let queue = Arc::new(WorkQueue::default());
        {
            let queue = Arc::clone(&queue);
            requests.on(move |_, new| {
                if let Some(request) = new {
                    queue.add(key_of(request));
                }
            });
        }
        Arc::new(Self {
            client: ctx.client.clone(),
            requests,
            queue,
            authority,
            max_validity,
        })
    }

    async fn set_condition(
        &self,
        name: &str,
        kind: &str,
        reason: &str,
        message: &str,
    ) -> anyhow::Result<()> {
        let api: Api<CertificateSigningRequest> = Api::all(self.client.clone());
        let patch = json!({"status": {"conditions": [{
            "type": kind,
            "status": "True",
            "reason": reason,
            "message": message,
            "lastUpdateTime": gantry_api::time::now_rfc3339(),
            "lastTransitionTime": gantry_api::time::now_rfc3339(),
        }]}});
        if kind == "Approved" {
            api.patch_approval(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        } else {
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Ok(())
    }
}

impl Reconcile for CertificateController {
    fn name(&self) -> &'static str {
        "csr-controller"
    }

    fn queue(&self) -> &Arc<WorkQueue> {
        &self.queue
    }

    async fn reconcile(&self, key: String) -> anyhow::Result<Option<Duration>> {
        let Some(request) = self.requests.get(&key) else {
            return Ok(None);
        };
        let name = request.metadata.name.clone().unwrap_or_default();
        if condition(&request, "Denied") || condition(&request, "Failed") {
            return Ok(None);
        }
        if !condition(&request, "Approved") {
            if approve::recognized(&request) {
                tracing::info!(request = %name, user = %request.spec.username.as_deref().unwrap_or(""), "approving a kubelet client certificate");
                self.set_condition(
                    &name,
                    "Approved",
                    "AutoApproved",
                    "Auto approving kubelet client certificate after SubjectAccessReview.",
                )
                .await?;
            }
            return Ok(None);
        }
        if request
            .status
            .as_ref()
            .and_then(|s| s.certificate.as_ref())
            .is_some_and(|c| !c.0.is_empty())
        {
            return Ok(None);
        }
        match sign::sign(&self.authority, &request, self.max_validity) {
            Ok(None) => Ok(None),
            Ok(Some(certificate)) => {
                let api: Api<CertificateSigningRequest> = Api::all(self.client.clone());
                let encoded = base64_of(certificate.as_bytes());
                let patch = json!({"status": {"certificate": encoded}});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
                tracing::info!(request = %name, "signed a certificate");
                Ok(None)
            }
            Err(why) => {
                self.set_condition(&name, "Failed", "SignerValidationFailure", &why)
                    .await?;
                Ok(None)
            }
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
