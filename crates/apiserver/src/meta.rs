//! Object metadata over raw JSON: the registry keeps objects as `serde_json::Value` so that
//! every resource, built-in or custom, goes through one path and no field is silently dropped.

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The object's `metadata`, created if missing. `None` if the object is not a JSON object.
pub fn metadata_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let object = object.as_object_mut()?;
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    metadata.as_object_mut()
}

/// A string field of `metadata`.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// Sets `metadata.<field>`.
pub fn set_meta(object: &mut Value, field: &str, value: Value) {
    if let Some(metadata) = metadata_mut(object) {
        metadata.insert(field.to_owned(), value);
    }
}

/// Removes `metadata.<field>`.
pub fn remove_meta(object: &mut Value, field: &str) -> Option<Value> {
    metadata_mut(object)?.remove(field)
}

/// `metadata.finalizers` as strings.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Now, as upstream writes timestamps (`2006-01-02T15:04:05Z`, UTC, whole seconds).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

pub use gantry_api::time::{parse_rfc3339, rfc3339};

/// A random RFC 4122 version-4 UUID, as upstream gives every object.
pub fn new_uid() -> String {
    let mut bytes: [u8; 16] = fastrand::u128(..).to_le_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The five random characters upstream appends to a `generateName` (no vowels, no look-alikes).
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// Which DNS rule a kind's names follow (upstream's `ValidateObjectMeta` name functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain: most kinds.
    Subdomain,
    /// RFC 1123 label: namespaces and a few others.
    Label,
    /// RFC 1035 label: services.
    Dns1035,
    /// Path segment only (RBAC roles and the like allow `:` and upper case).
    PathSegment,
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Checks a name; returns each problem in upstream's words.
pub fn validate_name(rule: NameRule, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                problems.push("must be no more than 253 characters".to_owned());
            }
            if !name.split('.').all(is_label) {
                problems.push(SUBDOMAIN_MSG.to_owned());
            }
        }
        NameRule::Label | NameRule::Dns1035 => {
            if name.len() > 63 {
                problems.push("must be no more than 63 characters".to_owned());
            }
            let starts_alpha = name.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
            if rule == NameRule::Label && !is_label(name) {
                problems.push(LABEL_MSG.to_owned());
            } else if rule == NameRule::Dns1035 && !(is_label(name) && starts_alpha) {
                problems.push(DNS1035_MSG.to_owned());
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                problems.push(format!("may not be '{name}'"));
            }
            for bad in ["/", "%"] {
                if name.contains(bad) {
                    problems.push(format!("may not contain '{bad}'"));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_version_4_uuids() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        assert_ne!(uid, new_uid());
    }

    #[test]
    fn names_follow_their_kinds_dns_rule() {
        assert!(validate_name(NameRule::Subdomain, "web.example-1").is_empty());
        assert!(validate_name(NameRule::Subdomain, "Web")[0].contains("RFC 1123 subdomain"));
        assert!(validate_name(NameRule::Label, "a.b")[0].contains("RFC 1123 label"));
        assert!(validate_name(NameRule::Dns1035, "1abc")[0].contains("DNS-1035"));
        assert!(validate_name(NameRule::Dns1035, "abc-1").is_empty());
        assert_eq!(validate_name(NameRule::Label, &"a".repeat(64)).len(), 1);
        assert!(validate_name(NameRule::PathSegment, "system:admin").is_empty());
    }

    #[test]
    fn generated_suffixes_use_upstreams_alphabet() {
        let s = name_suffix();
        assert_eq!(s.len(), 5);
        assert!(s.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }
}
