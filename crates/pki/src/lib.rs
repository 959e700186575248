//! The cluster's public-key infrastructure: one certificate authority generated at first start
//! (ECDSA P-256), the serving and client certificates issued from it, the certificate requests
//! it signs for joining nodes, the identity a client certificate carries (CN = user, O =
//! groups, as upstream's x509 authenticator reads it), join tokens that pin the authority by
//! the hash of its public key (kubeadm's `--discovery-token-ca-cert-hash`), and kubeconfigs.
//!
//! Every signature goes through `ring`, the one crypto provider of the whole build (rustls
//! refuses to pick between two at start-up).

pub mod authority;
pub mod identity;
pub mod jwt;
pub mod kubeconfig;
pub mod tls;
pub mod token;

pub use authority::{Authority, Issued, Leaf, Usage};
pub use identity::Subject;
pub use token::JoinToken;

/// Why a certificate operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// rcgen refused the parameters or the key.
    #[error("{0}")]
    Certificate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Bytes that should have been a certificate (or request) are not one.
    #[error("not a valid certificate: {0}")]
    Parse(String),
}
