//! The API server's TLS: its serving certificate, and client certificates verified against the
//! cluster authority but not required (tokens and anonymous requests come without one). TLS
//! 1.3 and 1.2, HTTP/2 offered first, as upstream's server does.

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
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
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// rustls' configuration for `tls`, on `ring` (the build's only provider).
pub fn server_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(tls.client_ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("the client CA: {e}"))?;
        roots.add(cert).map_err(|e| format!("the client CA: {e}"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("the client CA: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the serving certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| format!("the serving key: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("the serving certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
