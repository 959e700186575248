//! rustls configurations for the cluster's TLS endpoints, on `ring` (the build's only
//! provider): servers that verify client certificates against the cluster authority without
//! requiring one (tokens and anonymous requests come without), and the API server's client
//! toward kubelets, which presents its certificate but, as upstream's API server does without
//! `--kubelet-certificate-authority`, does not verify the kubelet's self-signed one.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::sync::Arc;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn chain(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what}: {e}"))
}

fn key(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("{what}: {e}"))
}

/// A server presenting `cert_pem` (with its chain) and `key_pem`, verifying client
/// certificates against `client_ca_pem` when a client offers one; TLS 1.3 and 1.2, offering
/// `alpn` (most preferred first).
pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    client_ca_pem: &str,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in chain(client_ca_pem, "the client CA")? {
        roots.add(cert).map_err(|e| format!("the client CA: {e}"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| format!("the client CA: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            chain(cert_pem, "the serving certificate")?,
            key(key_pem, "the serving key")?,
        )
        .map_err(|e| format!("the serving certificate: {e}"))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Accepts whatever certificate the server presents (signatures are still checked, so the
/// handshake proves the peer holds the key it shows).
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client trusting `ca_pem` and presenting `cert_pem`/`key_pem` if given (a kubeconfig's
/// credentials), for HTTP/1.1.
pub fn client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in chain(ca_pem, "the server CA")? {
        roots.add(cert).map_err(|e| format!("the server CA: {e}"))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert_pem, key_pem)) => builder
            .with_client_auth_cert(
                chain(cert_pem, "the client certificate")?,
                key(key_pem, "the client key")?,
            )
            .map_err(|e| format!("the client certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client presenting `cert_pem` and `key_pem` to servers whose certificates it does not
/// verify (the API server toward kubelets' self-signed serving certificates), HTTP/1.1 only
/// (upgrades for exec and port-forward need it).
pub fn unverified_client_config(
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
        .with_client_auth_cert(
            chain(cert_pem, "the client certificate")?,
            key(key_pem, "the client key")?,
        )
        .map_err(|e| format!("the client certificate: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Authority, Leaf};

    #[test]
    fn configurations_build_from_issued_certificates() {
        let authority = Authority::generate("test-ca").unwrap();
        let server = authority
            .issue(&Leaf::server("node", vec!["node".into()], vec![]))
            .unwrap();
        let client = authority.issue(&Leaf::client("apiserver", &[])).unwrap();
        let served = server_config(
            &server.cert_pem,
            &server.key_pem,
            authority.cert_pem(),
            &[b"http/1.1"],
        )
        .unwrap();
        assert_eq!(served.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(unverified_client_config(&client.cert_pem, &client.key_pem).is_ok());
        assert!(
            client_config(
                authority.cert_pem(),
                Some((&client.cert_pem, &client.key_pem))
            )
            .is_ok()
        );
        // No authority at all is a configuration trusting nothing (the benchmark client's,
        // for plain HTTP); a broken one is an error.
        assert!(client_config("", None).is_ok());
        let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(client_config(broken, None).is_err());
        assert!(server_config("junk", "junk", authority.cert_pem(), &[]).is_err());
    }
}
