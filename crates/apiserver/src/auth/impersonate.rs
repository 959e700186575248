//! Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): the `Impersonate-User`,
//! `-Group`, `-Uid` and `-Extra-<key>` headers, each allowed only if the requesting user may
//! `impersonate` that user (or service account), group, uid or extra, as upstream's filter
//! checks them; the request then proceeds as the impersonated user.

use super::attributes::Attributes;
use super::user::{AUTHENTICATED, User};
use crate::status::ApiError;
use http::HeaderMap;

fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

fn resource(
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
    name: &str,
) -> Attributes {
    Attributes::Resource {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: resource.to_owned(),
        subresource: None,
        namespace: namespace.map(str::to_owned),
        name: Some(name.to_owned()),
        field_selector: None,
    }
}

/// The user the request acts as: `requester` itself without impersonation headers, else the
/// impersonated user once `may` has allowed every part of it.
pub fn impersonated(
    requester: User,
    headers: &HeaderMap,
    may: impl Fn(&User, &Attributes) -> Result<(), ApiError>,
) -> Result<User, ApiError> {
    let users = values(headers, "impersonate-user");
    let groups = values(headers, "impersonate-group");
    let uids = values(headers, "impersonate-uid");
    let extras: Vec<(String, &str)> = headers
        .iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix("impersonate-extra-")?;
            let key = urlencoding::decode(key)
                .map(|k| k.into_owned())
                .unwrap_or_default();
            Some((key, value.to_str().ok()?))
        })
        .collect();
    if users.is_empty() {
        if groups.is_empty() && uids.is_empty() && extras.is_empty() {
            return Ok(requester);
        }
        return Err(ApiError::internal(
            "impersonating groups, a uid or extras requires impersonating a user",
        ));
    }
    let name = users[0];
    let mut user = User {
        name: name.to_owned(),
        ..User::default()
    };
    // A service account is impersonated as one (namespace and name), with its groups.
    match name
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
    {
        Some((namespace, account)) => {
            may(
                &requester,
                &resource(
                    "impersonate",
                    "",
                    "serviceaccounts",
                    Some(namespace),
                    account,
                ),
            )?;
            if groups.is_empty() {
                user.groups = vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:{namespace}"),
                ];
            }
        }
        None => may(
            &requester,
            &resource("impersonate", "", "users", None, name),
        )?,
    }
    for group in &groups {
        may(
            &requester,
            &resource("impersonate", "", "groups", None, group),
        )?;
        user.groups.push((*group).to_owned());
    }
    if let Some(uid) = uids.first() {
        may(
            &requester,
            &resource("impersonate", "authentication.k8s.io", "uids", None, uid),
        )?;
        user.uid = (*uid).to_owned();
    }
    for (key, value) in extras {
        let attributes = Attributes::Resource {
            verb: "impersonate".to_owned(),
            group: "authentication.k8s.io".to_owned(),
            resource: "userextras".to_owned(),
            subresource: Some(key.clone()),
            namespace: None,
            name: Some(value.to_owned()),
            field_selector: None,
        };
        may(&requester, &attributes)?;
        user.extra.entry(key).or_default().push(value.to_owned());
    }
    if name != "system:anonymous" && !user.in_group(AUTHENTICATED) {
        user.groups.push(AUTHENTICATED.to_owned());
    }
    Ok(user)
}
