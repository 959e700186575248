//! The token of a projected `serviceAccountToken` source: requested from the API server
//! (`serviceaccounts/<name>/token`) bound to the pod, so that it stops working once the pod is
//! gone, as upstream's kubelet does.

use crate::pods::PodContext;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount, ServiceAccountTokenProjection};
use kube::api::{Api, PostParams};

/// Upstream's default lifetime of a projected token.
const DEFAULT_SECONDS: i64 = 3600;

/// A token for the pod's ServiceAccount, bound to the pod.
pub async fn pod_token(
    ctx: &PodContext,
    pod: &Pod,
    source: &ServiceAccountTokenProjection,
) -> Result<Vec<u8>, String> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let account = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: source.audience.clone().into_iter().collect(),
            expiration_seconds: Some(source.expiration_seconds.unwrap_or(DEFAULT_SECONDS)),
            bound_object_ref: Some(BoundObjectReference {
                kind: Some("Pod".into()),
                api_version: Some("v1".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
        },
        ..TokenRequest::default()
    };
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &namespace);
    let answer = api
        .create_token_request(&account, &PostParams::default(), &request)
        .await
        .map_err(|e| format!("failed to fetch token: {e}"))?;
    let token = answer
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or("failed to fetch token: the answer has none")?;
    Ok(token.into_bytes())
}
