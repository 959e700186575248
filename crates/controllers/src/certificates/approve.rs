//! Which requests are approved without a person: upstream's `csrapproving` recognizers for
//! kubelet client certificates — `nodeclient` (asked for by a bootstrap-token user while
//! joining) and `selfnodeclient` (a node renewing its own) — each a request for
//! `system:node:<name>` in exactly `system:nodes` with client usages only, on the
//! `kubernetes.io/kube-apiserver-client-kubelet` signer.

use k8s_openapi::api::certificates::v1::CertificateSigningRequest;

/// The kubelet client certificate signer.
pub const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";

/// The usages a kubelet client certificate may ask for.
const CLIENT_USAGES: &[&str] = &["digital signature", "key encipherment", "client auth"];

/// Whether the request's certificate is a kubelet client certificate (PEM request in
/// `request`): subject `system:node:<name>` / `system:nodes`, client usages, the right signer.
pub fn is_kubelet_client(request: &CertificateSigningRequest) -> Option<String> {
    if request.spec.signer_name != KUBELET_CLIENT_SIGNER {
        return None;
    }
    let usages = request.spec.usages.as_deref().unwrap_or_default();
    if !usages.iter().any(|u| u == "client auth")
        || !usages.iter().all(|u| CLIENT_USAGES.contains(&u.as_str()))
    {
        return None;
    }
    let pem = String::from_utf8(request.spec.request.0.clone()).ok()?;
    let subject = gantry_pki::identity::request_subject(&pem).ok()?;
    let node = subject.common_name.strip_prefix("system:node:")?;
    (!node.is_empty() && subject.organizations == ["system:nodes"])
        .then(|| subject.common_name.clone())
}

/// Whether the request is approved automatically.
pub fn recognized(request: &CertificateSigningRequest) -> bool {
    let Some(user) = is_kubelet_client(request) else {
        return false;
    };
    let requester = request.spec.username.as_deref().unwrap_or_default();
    let groups = request.spec.groups.as_deref().unwrap_or_default();
    let bootstrapper = groups.iter().any(|g| g == "system:bootstrappers");
    bootstrapper || requester == user
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::certificates::v1::CertificateSigningRequestSpec;

    fn request(
        cn: &str,
        groups: &[&str],
        requester: &str,
        requester_groups: &[&str],
    ) -> CertificateSigningRequest {
        let (pem, _key) = gantry_pki::authority::request(cn, groups).unwrap();
        CertificateSigningRequest {
            spec: CertificateSigningRequestSpec {
                request: ByteString(pem.into_bytes()),
                signer_name: KUBELET_CLIENT_SIGNER.to_owned(),
                usages: Some(vec!["digital signature".into(), "client auth".into()]),
                username: Some(requester.to_owned()),
                groups: Some(requester_groups.iter().map(|g| (*g).to_owned()).collect()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn joining_and_renewing_nodes_are_approved() {
        let joining = request(
            "system:node:n1",
            &["system:nodes"],
            "system:bootstrap:abcdef",
            &["system:bootstrappers", "system:authenticated"],
        );
        assert!(recognized(&joining));
        let renewing = request(
            "system:node:n1",
            &["system:nodes"],
            "system:node:n1",
            &["system:nodes"],
        );
        assert!(recognized(&renewing));
    }

    #[test]
    fn anything_else_waits_for_a_person() {
        let other_node = request(
            "system:node:n2",
            &["system:nodes"],
            "system:node:n1",
            &["system:nodes"],
        );
        assert!(
            !recognized(&other_node),
            "a node cannot ask for another's certificate"
        );
        let admin = request(
            "system:node:n1",
            &["system:masters"],
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
        );
        assert!(!recognized(&admin), "only system:nodes");
        let mut serving = request(
            "system:node:n1",
            &["system:nodes"],
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
        );
        serving.spec.usages = Some(vec!["digital signature".into(), "server auth".into()]);
        assert!(!recognized(&serving));
        let mut other_signer = request(
            "system:node:n1",
            &["system:nodes"],
            "system:bootstrap:abcdef",
            &["system:bootstrappers"],
        );
        other_signer.spec.signer_name = "example.com/mine".into();
        assert!(!recognized(&other_signer));
        let user = request("alice", &[], "alice", &["system:authenticated"]);
        assert!(!recognized(&user));
    }
}
