//! Join tokens: `K10<hash>::<id>.<secret>`, as k3s prints them. The part after `::` is an
//! upstream bootstrap token (`[a-z0-9]{6}.[a-z0-9]{16}`, kept as a `bootstrap-token-<id>`
//! Secret in `kube-system`); the part before it is the hex SHA-256 of the cluster authority's
//! public key, so that a joining node can tell the real server from an impostor before it
//! sends the token anywhere.

use std::fmt;

/// A parsed join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// `sha256:<hex>` of the authority's public key.
    pub ca_hash: String,
    /// The bootstrap token's public id.
    pub id: String,
    /// The bootstrap token's secret.
    pub secret: String,
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("ca_hash", &self.ca_hash)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self
            .ca_hash
            .strip_prefix("sha256:")
            .unwrap_or(&self.ca_hash);
        write!(f, "K10{hex}::{}.{}", self.id, self.secret)
    }
}

fn is_token_part(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Splits a bootstrap token `<id>.<secret>` into its parts, if it has upstream's shape.
pub fn split_bootstrap(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    (is_token_part(id, 6) && is_token_part(secret, 16)).then_some((id, secret))
}

/// A random bootstrap token part of `len` characters from `[a-z0-9]`.
pub fn random_part(len: usize) -> String {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut byte = [0u8; 1];
        if rng.fill(&mut byte).is_err() {
            continue;
        }
        // Rejection sampling keeps every character equally likely (252 = 7 × 36).
        if byte[0] < 252 {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    out
}

impl JoinToken {
    /// A new token for the authority whose public key hashes to `ca_hash`.
    pub fn generate(ca_hash: &str) -> Self {
        Self {
            ca_hash: ca_hash.to_owned(),
            id: random_part(6),
            secret: random_part(16),
        }
    }

    /// The bootstrap token a client sends as its bearer token.
    pub fn bearer(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }

    /// Parses `K10<64 hex>::<id>.<secret>`, saying what is wrong otherwise.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let rest = text
            .strip_prefix("K10")
            .ok_or("a join token starts with K10 (print one with `gantry token create`)")?;
        let (hex, bootstrap) = rest
            .split_once("::")
            .ok_or("a join token is K10<CA hash>::<id>.<secret>")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the CA hash in the join token is not 64 hexadecimal digits".into());
        }
        let (id, secret) = split_bootstrap(bootstrap).ok_or(
            "the token after `::` must be <6 of [a-z0-9]>.<16 of [a-z0-9]>, as upstream's bootstrap tokens",
        )?;
        Ok(Self {
            ca_hash: format!("sha256:{}", hex.to_ascii_lowercase()),
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_round_trips() {
        let hash = format!("sha256:{}", "ab".repeat(32));
        let token = JoinToken::generate(&hash);
        let text = token.to_string();
        assert!(
            text.starts_with(&format!("K10{}::", "ab".repeat(32))),
            "{text}"
        );
        assert_eq!(JoinToken::parse(&text), Ok(token.clone()));
        assert!(split_bootstrap(&token.bearer()).is_some());
    }

    #[test]
    fn malformed_tokens_say_what_is_wrong() {
        let hex = "0".repeat(64);
        assert!(
            JoinToken::parse("abcdef.0123456789abcdef")
                .unwrap_err()
                .contains("K10")
        );
        assert!(
            JoinToken::parse("K10abc::abcdef.0123456789abcdef")
                .unwrap_err()
                .contains("64")
        );
        let upper = format!("K10{hex}::ABCDEF.0123456789abcdef");
        assert!(JoinToken::parse(&upper).unwrap_err().contains("bootstrap"));
        let short = format!("K10{hex}::abcde.0123456789abcdef");
        assert!(JoinToken::parse(&short).is_err());
    }
}
