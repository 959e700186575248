//! The authenticator chain: the connection's verified client certificate, then a bearer
//! token, else anonymous.

use super::service_account::TokenIssuer;
use super::user::User;
use crate::registry::Registry;
use crate::status::ApiError;
use gantry_pki::Subject;
use http::HeaderMap;

/// What the connection says about its client.
#[derive(Debug, Clone)]
pub enum Peer {
    /// A plain-HTTP connection to an API server run without TLS.
    Unsecured,
    /// A TLS connection, with the subject of the client certificate it verified, if any.
    Tls(Option<Subject>),
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The request's user, or 401 for credentials that are presented but not valid.
pub async fn authenticate(
    registry: &Registry,
    tokens: Option<&TokenIssuer>,
    peer: &Peer,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    match peer {
        Peer::Unsecured => return Ok(User::unsecured()),
        Peer::Tls(Some(subject)) => {
            // Upstream refuses a certificate without a common name: it names no one.
            if subject.common_name.is_empty() {
                return Err(ApiError::unauthorized());
            }
            return Ok(User::authenticated(
                &subject.common_name,
                subject.organizations.clone(),
            ));
        }
        Peer::Tls(None) => {}
    }
    let Some(token) = bearer(headers) else {
        return Ok(User::anonymous());
    };
    if let Some(tokens) = tokens
        && let Some(user) = tokens.authenticate(registry, token).await
    {
        return user;
    }
    super::bootstrap_token::authenticate(registry, token)
        .await
        .ok_or_else(ApiError::unauthorized)
}
