//! The API server's TLS: its serving certificate, and client certificates verified against the
//! cluster authority but not required (tokens and anonymous requests come without one). TLS
//! 1.3 and 1.2, HTTP/2 offered first, as upstream's server does.

use std::sync::Arc;

/// The serving certificate and the authority client certificates must chain to (all PEM).
#[derive(Clone)]
pub struct TlsConfig {
    /// The serving certificate (with its chain).
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
    /// The authority client certificates are verified against.
    pub client_ca_pem: String,
    /// The certificate the API server presents to kubelets (which authenticate it and ask
    /// this server whether it may); without one, kubelets are reached over plain HTTP.
    pub kubelet_client: Option<gantry_pki::Issued>,
}

/// The user the API server is toward kubelets (kubeadm's `apiserver-kubelet-client`), bound to
/// upstream's `system:kubelet-api-admin` role.
pub const KUBELET_CLIENT_USER: &str = "kube-apiserver-kubelet-client";

/// The client kubelets are reached with, if the configuration has a certificate for it.
pub fn kubelet_client_config(tls: &TlsConfig) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    tls.kubelet_client
        .as_ref()
        .map(|issued| gantry_pki::tls::unverified_client_config(&issued.cert_pem, &issued.key_pem))
        .transpose()
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// rustls' configuration for `tls`, offering HTTP/2 first.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, String> {
    gantry_pki::tls::server_config(
        &tls.cert_pem,
        &tls.key_pem,
        &tls.client_ca_pem,
        &[b"h2", b"http/1.1"],
    )
}
