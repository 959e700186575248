//! ServiceAccount tokens are JWTs: signed with ES256 (ECDSA P-256, SHA-256, the 64-byte
//! `r‖s` signature JWS wants) by a key the server keeps, verifiable by anyone holding the
//! public half it publishes as a JWK (`/openid/v1/jwks`).

use crate::Error;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use std::path::Path;

/// A signing key.
pub struct Signer {
    key: EcdsaKeyPair,
    pem: String,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not three base64url parts with a JSON header and payload.
    #[error("malformed token")]
    Malformed,
    /// Not ES256, or not this key's.
    #[error("not signed by this key")]
    Signature,
}

impl Signer {
    /// A signer from a PKCS#8 PEM key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let pair = rcgen::KeyPair::from_pem(pem)?;
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pair.serialized_der(),
            &rng,
        )
        .map_err(|e| Error::Parse(format!("the service account key: {e}")))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        Ok(Self {
            key,
            pem: pem.to_owned(),
            kid: B64.encode(digest.as_ref()),
        })
    }

    /// The key kept at `path` (PEM), generated and written (owner-only) if missing.
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        if let Ok(pem) = std::fs::read_to_string(path) {
            return Self::from_pem(&pem);
        }
        let pem = rcgen::KeyPair::generate()?.serialize_pem();
        crate::authority::write_private(path, &pem)?;
        Self::from_pem(&pem)
    }

    /// The key (PEM), for another process that signs with it.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The key id tokens name in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A signed token carrying `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        let header = json!({"alg": "ES256", "kid": self.kid});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let rng = ring::rand::SystemRandom::new();
        let signature = self
            .key
            .sign(&rng, input.as_bytes())
            .map_err(|e| Error::Parse(format!("signing: {e}")))?;
        Ok(format!("{input}.{}", B64.encode(signature.as_ref())))
    }

    /// The claims of a token this key signed (its times are the caller's to check).
    pub fn verify(&self, token: &str) -> Result<Value, Refused> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refused::Malformed);
        };
        let decode = |part: &str| B64.decode(part).map_err(|_| Refused::Malformed);
        let header: Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| Refused::Malformed)?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err(Refused::Signature);
        }
        let public = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            self.key.public_key().as_ref(),
        );
        let signed = &token[..token.len() - sig.len() - 1];
        public
            .verify(signed.as_bytes(), &decode(sig)?)
            .map_err(|_| Refused::Signature)?;
        serde_json::from_slice(&decode(payload)?).map_err(|_| Refused::Malformed)
    }

    /// The public key as a JWK (`kty: EC`, `crv: P-256`, `x`, `y`).
    pub fn jwk(&self) -> Value {
        // The uncompressed point: 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
        let point = self.key.public_key().as_ref();
        json!({
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_their_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::load_or_create(&dir.path().join("sa.key")).unwrap();
        let again = Signer::load_or_create(&dir.path().join("sa.key")).unwrap();
        assert_eq!(signer.kid(), again.kid());
        let token = signer
            .sign(&json!({"sub": "system:serviceaccount:a:b"}))
            .unwrap();
        assert_eq!(
            again.verify(&token).unwrap()["sub"],
            "system:serviceaccount:a:b"
        );
        let other = Signer::from_pem(&rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
        assert_eq!(other.verify(&token), Err(Refused::Signature));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(signer.verify(&tampered).is_err());
        assert_eq!(signer.verify("a.b"), Err(Refused::Malformed));
        let jwk = signer.jwk();
        assert_eq!(B64.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
    }
}
