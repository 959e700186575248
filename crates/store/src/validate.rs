//! Input checks shared by every backend, run before a request reaches one, so that bad input gets
//! the same error whichever store is behind the API server.

use crate::{Error, KeySelector, Op, Result, Txn};
use std::collections::HashSet;

/// The largest value a put accepts: upstream etcd's default `--max-request-bytes` (1.5 MiB),
/// which is what bounds an object's size in Kubernetes.
pub const MAX_VALUE_BYTES: usize = 1536 * 1024;

/// The most writes one transaction may carry (etcd's default `--max-txn-ops`).
pub const MAX_TXN_OPS: usize = 128;

/// The most key and value bytes one transaction may carry: one maximum-size value plus room
/// for its key and a few small writes beside it.
pub const MAX_TXN_BYTES: usize = 2 * 1024 * 1024;

/// The longest key accepted. Kubernetes keys are `/registry/<resource>/<namespace>/<name>` with
/// names of at most 253 bytes, so this leaves generous room while refusing absurd input.
pub const MAX_KEY_BYTES: usize = 4096;

/// Checks a key that names one object: `/`-separated, non-empty segments, no trailing `/`.
pub fn key(key: &str) -> Result<()> {
    common(key)?;
    if key.ends_with('/') {
        return Err(invalid(key, "a key must not end with '/'"));
    }
    for segment in key[1..].split('/') {
        match segment {
            "" => {
                return Err(invalid(
                    key,
                    "a key must not contain an empty segment ('//')",
                ));
            }
            "." | ".." => return Err(invalid(key, "a key must not contain '.' or '..' segments")),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a prefix: like a key, but it may end with `/` (and `/` alone covers everything).
pub fn prefix(prefix: &str) -> Result<()> {
    common(prefix)?;
    let inner = &prefix.as_bytes()[1..prefix.len().saturating_sub(1).max(1)];
    if inner.windows(2).any(|w| w == b"//") {
        return Err(invalid(
            prefix,
            "a prefix must not contain an empty segment ('//')",
        ));
    }
    Ok(())
}

/// Checks either kind of selector.
pub fn selector(selector: &KeySelector) -> Result<()> {
    match selector {
        KeySelector::Key(k) => key(k),
        KeySelector::Prefix(p) => prefix(p),
    }
}

/// Checks a value's size.
pub fn value(key: &str, value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::ValueTooLarge {
            key: key.to_owned(),
            size: value.len(),
            limit: MAX_VALUE_BYTES,
        });
    }
    Ok(())
}

/// Checks every key and value of a transaction, and that no key is written twice (etcd refuses
/// that too: "duplicate key given in txn request").
pub fn txn(txn: &Txn) -> Result<()> {
    for compare in &txn.compares {
        key(&compare.key)?;
    }
    if txn.ops.len() > MAX_TXN_OPS || txn.compares.len() > MAX_TXN_OPS {
        return Err(Error::InvalidTxn(format!(
            "{} writes and {} compares, over the limit of {MAX_TXN_OPS} each",
            txn.ops.len(),
            txn.compares.len()
        )));
    }
    let mut written = HashSet::with_capacity(txn.ops.len());
    let mut bytes = 0usize;
    for op in &txn.ops {
        key(op.key())?;
        bytes += op.key().len();
        if let Op::Put { key, value: v } = op {
            value(key, v)?;
            bytes += v.len();
        }
        if !written.insert(op.key()) {
            return Err(Error::InvalidTxn(format!(
                "key {:?} is written more than once",
                op.key()
            )));
        }
    }
    if bytes > MAX_TXN_BYTES {
        return Err(Error::InvalidTxn(format!(
            "the transaction writes {bytes} bytes, over the limit of {MAX_TXN_BYTES}"
        )));
    }
    Ok(())
}

fn common(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(invalid(key, "a key must not be empty"));
    }
    if !key.starts_with('/') {
        return Err(invalid(key, "a key must start with '/'"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid(key, "a key must be at most 4096 bytes"));
    }
    if key.chars().any(char::is_control) {
        return Err(invalid(key, "a key must not contain control characters"));
    }
    Ok(())
}

fn invalid(key: &str, reason: &'static str) -> Error {
    Error::InvalidKey {
        key: key.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_keys_are_accepted() {
        key("/registry/pods/default/web-0").unwrap();
        key("/registry/nodes/node-1").unwrap();
        prefix("/registry/pods/").unwrap();
        prefix("/").unwrap();
    }

    #[test]
    fn malformed_keys_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "empty"),
            ("registry/pods", "start with '/'"),
            ("/registry/pods/", "end with '/'"),
            ("/registry//pods", "empty segment"),
            ("/registry/../etc", "'..'"),
            ("/registry/\0pods", "control"),
        ] {
            let err = key(bad).unwrap_err();
            assert!(err.to_string().contains(reason), "{bad:?}: {err}");
        }
        assert!(key(&format!("/{}", "a".repeat(MAX_KEY_BYTES))).is_err());
    }

    #[test]
    fn a_transaction_writing_one_key_twice_is_refused() {
        let t = Txn::new().put("/a", "1").delete("/a");
        assert!(matches!(txn(&t), Err(Error::InvalidTxn(_))));
    }

    #[test]
    fn a_prefix_with_multibyte_characters_is_checked_without_panicking() {
        prefix("/é").unwrap();
        prefix("/é/").unwrap();
        assert!(prefix("/é//x").is_err());
    }

    #[test]
    fn oversized_transactions_are_refused_whole() {
        let many = (0..=MAX_TXN_OPS).fold(Txn::new(), |t, i| t.put(format!("/k{i}"), "v"));
        assert!(
            txn(&many)
                .unwrap_err()
                .to_string()
                .contains("over the limit of 128")
        );
        let big = vec![0u8; MAX_VALUE_BYTES];
        let two = Txn::new().put("/a", big.clone()).put("/b", big);
        assert!(
            txn(&two)
                .unwrap_err()
                .to_string()
                .contains("bytes, over the limit")
        );
    }

    #[test]
    fn values_over_the_request_limit_are_refused() {
        value("/a", &vec![0; MAX_VALUE_BYTES]).unwrap();
        let err = value("/a", &vec![0; MAX_VALUE_BYTES + 1]).unwrap_err();
        assert!(matches!(err, Error::ValueTooLarge { size, .. } if size == MAX_VALUE_BYTES + 1));
    }
}
