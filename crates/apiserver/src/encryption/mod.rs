//! Encryption at rest, as upstream's `--encryption-provider-config` does it: an
//! `EncryptionConfiguration` ([`config`]) names, per resource, an ordered list of providers —
//! the first encrypts what is written, any of them decrypts what is read — and the store is
//! wrapped ([`store::EncryptingStore`]) so that every value under those resources' keys is
//! transformed on its way in and out, whatever path wrote or reads it (registry, watch cache,
//! allocator).
//!
//! Providers: `aesgcm` (AES-GCM with a random 96-bit nonce and the store key as additional
//! data, written as upstream writes it: `k8s:enc:aesgcm:v1:<key name>:<nonce><sealed>`) and
//! `identity` (plain, for reading what was written before encryption was turned on). Rotating
//! a key is upstream's procedure: add the new key first, restart, rewrite every Secret
//! (`kubectl get secrets -A -o json | kubectl replace -f -`), then drop the old key.

pub mod aesgcm;
pub mod config;
pub mod store;

pub use config::EncryptionConfig;
pub use store::EncryptingStore;
