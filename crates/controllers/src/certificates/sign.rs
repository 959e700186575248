//! Signing approved requests for the built-in signers (upstream's `csrsigning`):
//! `kube-apiserver-client-kubelet` (kubelet client certificates, checked again here as upstream
//! does), `kube-apiserver-client` (any client) and `kubelet-serving` (a node's serving
//! certificate). Other signers are someone else's: left alone.

use super::approve::{KUBELET_CLIENT_SIGNER, is_kubelet_client};
use gantry_pki::{Authority, Usage};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use std::time::Duration;

/// The signed certificate (PEM), `None` for a signer that is not ours, or why the request
/// cannot be signed.
pub fn sign(
    authority: &Authority,
    request: &CertificateSigningRequest,
    max_validity: Duration,
) -> Result<Option<String>, String> {
    let usage = match request.spec.signer_name.as_str() {
        KUBELET_CLIENT_SIGNER => {
            if is_kubelet_client(request).is_none() {
                return Err("invalid kubelet client certificate request: the subject must be system:node:<name> in system:nodes, with client usages only".into());
            }
            Usage::Client
        }
        "kubernetes.io/kube-apiserver-client" => Usage::Client,
        "kubernetes.io/kubelet-serving" => Usage::Server,
        _ => return Ok(None),
    };
    let validity = request
        .spec
        .expiration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(max_validity, |s| Duration::from_secs(s).min(max_validity));
    let pem = String::from_utf8(request.spec.request.0.clone())
        .map_err(|_| "the request is not PEM text".to_owned())?;
    authority
        .sign_request(&pem, usage, validity)
        .map(Some)
        .map_err(|e| format!("signing failed: {e}"))
}
