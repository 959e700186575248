//! Bootstrap tokens (`<id>.<secret>`) as upstream's authenticator checks them: the Secret
//! `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token`, whose
//! `token-secret` matches, `usage-bootstrap-authentication` is `"true"`, that has not expired
//! and is not being deleted. The user is `system:bootstrap:<id>` in `system:bootstrappers` and
//! the token's `auth-extra-groups`.

use super::user::{BOOTSTRAPPERS, User};
use crate::registry::Registry;
use base64::Engine;
use serde_json::Value;

/// The Secret type of bootstrap tokens.
pub const SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";

fn data(secret: &Value, key: &str) -> Option<String> {
    let encoded = secret.pointer(&format!("/data/{key}"))?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Compares without stopping at the first difference, so that timing does not reveal how much
/// of a guessed secret was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The user of a valid token (with `now` in seconds since the epoch), or `None`.
pub fn user_of(secret: &Value, id: &str, token_secret: &str, now: u64) -> Option<User> {
    if secret.get("type").and_then(Value::as_str) != Some(SECRET_TYPE)
        || secret.pointer("/metadata/deletionTimestamp").is_some()
        || data(secret, "token-id").as_deref() != Some(id)
        || !same(&data(secret, "token-secret")?, token_secret)
        || data(secret, "usage-bootstrap-authentication").as_deref() != Some("true")
    {
        return None;
    }
    if let Some(expiration) = data(secret, "expiration") {
        let expires = gantry_api::time::parse_rfc3339(&expiration)?;
        if expires <= now {
            tracing::info!(token = id, "refused an expired bootstrap token");
            return None;
        }
    }
    let mut groups = vec![BOOTSTRAPPERS.to_owned()];
    if let Some(extra) = data(secret, "auth-extra-groups") {
        // Upstream accepts only groups under system:bootstrappers: a token cannot make itself
        // an administrator.
        groups.extend(
            extra
                .split(',')
                .map(str::trim)
                .filter(|g| g.starts_with("system:bootstrappers:"))
                .map(str::to_owned),
        );
    }
    Some(User::authenticated(
        &format!("system:bootstrap:{id}"),
        groups,
    ))
}

/// Looks the token up in the store.
pub async fn authenticate(registry: &Registry, token: &str) -> Option<User> {
    let (id, token_secret) = gantry_pki::token::split_bootstrap(token)?;
    let secrets = gantry_api::catalogue::find("", "v1", "secrets")?;
    let secret = registry
        .get(
            secrets,
            Some("kube-system"),
            &format!("bootstrap-token-{id}"),
        )
        .await
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    user_of(&secret, id, token_secret, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn secret(expiration: Option<&str>) -> Value {
        let mut data = json!({
            "token-id": b64("abcdef"),
            "token-secret": b64("0123456789abcdef"),
            "usage-bootstrap-authentication": b64("true"),
            "auth-extra-groups": b64("system:bootstrappers:gantry:default-node-token,system:masters"),
        });
        if let Some(expiration) = expiration {
            data["expiration"] = json!(b64(expiration));
        }
        json!({"type": SECRET_TYPE, "metadata": {"name": "bootstrap-token-abcdef"}, "data": data})
    }

    #[test]
    fn a_valid_token_is_a_bootstrapper() {
        let user = user_of(&secret(None), "abcdef", "0123456789abcdef", 0).unwrap();
        assert_eq!(user.name, "system:bootstrap:abcdef");
        assert_eq!(
            user.groups,
            vec![
                "system:bootstrappers".to_owned(),
                "system:bootstrappers:gantry:default-node-token".to_owned(),
                "system:authenticated".to_owned(),
            ],
            "system:masters from the Secret is ignored"
        );
    }

    #[test]
    fn wrong_expired_or_unusable_tokens_are_refused() {
        assert!(user_of(&secret(None), "abcdef", "0123456789abcdeX", 0).is_none());
        let expiry = "2026-01-01T00:00:00Z";
        let at = gantry_api::time::parse_rfc3339(expiry).unwrap();
        assert!(user_of(&secret(Some(expiry)), "abcdef", "0123456789abcdef", at - 1).is_some());
        assert!(user_of(&secret(Some(expiry)), "abcdef", "0123456789abcdef", at).is_none());
        let mut unusable = secret(None);
        unusable["data"]["usage-bootstrap-authentication"] = json!(b64("false"));
        assert!(user_of(&unusable, "abcdef", "0123456789abcdef", 0).is_none());
        let mut opaque = secret(None);
        opaque["type"] = json!("Opaque");
        assert!(user_of(&opaque, "abcdef", "0123456789abcdef", 0).is_none());
    }
}
