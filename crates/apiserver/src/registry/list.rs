//! LIST: a consistent read of a collection at one revision, filtered by label and field
//! selectors, paged with `limit` and `continue` (the token pins the revision, so every page comes
//! from the same snapshot, as upstream's etcd pagination does).

use super::{Registry, decode, prefix};
use crate::fields;
use crate::request::Query;
use crate::status::ApiError;
use base64::Engine;
use gantry_api::catalogue::Resource;
use gantry_api::selector::{FieldSelector, LabelSelector};
use gantry_store::RangeRequest;
use serde_json::{Value, json};

/// The query parameters of a list (and of a watch's initial state).
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<String>,
    /// `limit` (0 = none).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
}

impl ListOptions {
    /// Reads and checks the list parameters for `resource`.
    pub fn parse(resource: &Resource, query: &Query) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        for requirement in fields.requirements() {
            if !fields::supported(resource, &requirement.field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {}",
                    requirement.field
                )));
            }
        }
        let limit = query.number("limit")?.unwrap_or(0).max(0) as usize;
        let options = Self {
            labels,
            fields,
            resource_version: query
                .get("resourceVersion")
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            resource_version_match: query
                .get("resourceVersionMatch")
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            limit,
            continue_token: query
                .get("continue")
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
        };
        match options.resource_version_match.as_deref() {
            None => {}
            Some("Exact" | "NotOlderThan") if options.resource_version.is_none() => {
                return Err(ApiError::bad_request(
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            Some("Exact" | "NotOlderThan") => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                )));
            }
        }
        if options.continue_token.is_some()
            && options
                .resource_version
                .as_deref()
                .is_some_and(|rv| rv != "0")
        {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        Ok(options)
    }

    /// Whether an object passes both selectors.
    pub fn matches(&self, resource: &Resource, object: &Value) -> bool {
        self.labels.matches_object(object)
            && self
                .fields
                .matches(|field| fields::value(resource, object, field))
    }

    fn filters(&self) -> bool {
        !self.labels.is_everything() || !self.fields.is_everything()
    }
}

/// A continue token, in upstream's shape: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":K}`
/// where `K` is the next key relative to the listed prefix.
fn encode_continue(revision: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(i64, String), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let revision = value
        .get("rv")
        .and_then(Value::as_i64)
        .filter(|rv| *rv > 0)
        .ok_or_else(invalid)?;
    let start = value
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    if start.contains("..") || start.starts_with('/') {
        return Err(invalid());
    }
    Ok((revision, start.to_owned()))
}

const EXPIRED_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

impl Registry {
    /// LIST of a collection: `{kind: <Kind>List, metadata: {resourceVersion, continue}, items}`.
    pub async fn list(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<Value, ApiError> {
        let (items, revision, next, remaining) =
            self.list_items(resource, namespace, options).await?;
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if let Some(next) = next {
            metadata["continue"] = json!(encode_continue(revision, &next));
            if let Some(remaining) = remaining {
                metadata["remainingItemCount"] = json!(remaining);
            }
        }
        Ok(json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": metadata,
            "items": items,
        }))
    }

    /// The matching objects, the revision they were read at, where the next page starts (relative
    /// to the prefix) and how many objects remain when that is known.
    pub async fn list_items(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<(Vec<Value>, i64, Option<String>, Option<u64>), ApiError> {
        let prefix = prefix(resource, namespace);
        let (mut revision, mut start) = match &options.continue_token {
            Some(token) => {
                let (revision, start) = decode_continue(token)?;
                (revision, Some(format!("{prefix}{start}")))
            }
            None => (self.read_revision(options).await?, None),
        };
        let mut items = Vec::new();
        let limit = options.limit;
        loop {
            // Filtering may drop objects, so read pages until the limit is met or none are left.
            let want = if limit == 0 {
                0
            } else {
                (limit - items.len()).max(1)
            };
            let mut request = RangeRequest::prefix(prefix.clone())
                .with_limit(want)
                .at_revision(revision);
            if let Some(start) = &start {
                request = request.starting_at(start.clone());
            }
            let page = self.store.range(request).await.map_err(|e| match e {
                gantry_store::Error::Compacted { .. } if options.continue_token.is_some() => {
                    ApiError::gone(EXPIRED_CONTINUE)
                }
                other => ApiError::from(other),
            })?;
            revision = page.revision;
            let page_count = page.count;
            let returned = page.kvs.len() as u64;
            for kv in &page.kvs {
                let mut object = decode(resource, kv)?;
                if options.matches(resource, &object) {
                    // Items of a list carry no apiVersion/kind, as upstream's typed lists.
                    if let Some(map) = object.as_object_mut() {
                        map.remove("apiVersion");
                        map.remove("kind");
                    }
                    items.push(object);
                }
            }
            match page.next {
                Some(next) if limit == 0 || items.len() < limit => start = Some(next),
                Some(next) => {
                    let relative = next.strip_prefix(&prefix).unwrap_or(&next).to_owned();
                    let remaining = (!options.filters()).then(|| page_count - returned);
                    return Ok((items, revision, Some(relative), remaining));
                }
                None => return Ok((items, revision, None, None)),
            }
        }
    }

    /// The revision a list reads at, from `resourceVersion` and `resourceVersionMatch`.
    async fn read_revision(&self, options: &ListOptions) -> Result<i64, ApiError> {
        let current = self.store.current_revision().await?;
        let Some(rv) = options.resource_version.as_deref() else {
            return Ok(current); // "": the latest, consistently
        };
        let requested: i64 = rv.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {rv:?}: must be a non-negative integer"
            ))
        })?;
        if requested < 0 {
            return Err(ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {rv:?}: must be a non-negative integer"
            )));
        }
        match options.resource_version_match.as_deref() {
            Some("Exact") => {
                if requested > current {
                    return Err(ApiError::timeout(format!(
                        "Too large resource version: {requested}, current resource version: {current}"
                    )));
                }
                Ok(requested)
            }
            // "0", NotOlderThan, or a plain version: anything at least that new; the latest is.
            _ if requested > current => Err(ApiError::timeout(format!(
                "Too large resource version: {requested}, current resource version: {current}"
            ))),
            _ => Ok(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_tampering() {
        let token = encode_continue(42, "web-3");
        assert_eq!(decode_continue(&token).unwrap(), (42, "web-3".to_owned()));
        assert!(decode_continue("not-base64!").is_err());
        let escape = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}"#);
        assert!(decode_continue(&escape).is_err());
    }
}
