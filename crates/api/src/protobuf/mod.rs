//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) read into JSON, for the
//! request bodies kubectl 1.32+ sends with its typed commands (`kubectl create namespace ...`).
//!
//! A body is the magic `k8s\0` and a `runtime.Unknown` envelope whose `typeMeta` names the kind
//! and whose `raw` holds the object. Objects are decoded generically from the wire format, driven
//! by a static schema per message type: field number → JSON name and type. Upstream's Go
//! encoder writes every non-pointer field even when empty, so empty strings, zero counters and
//! empty messages are dropped as Go's JSON `omitempty` would drop them.
//!
//! Kinds without a schema (`messages`) are refused (the API server answers 415): the schemas
//! cover what kubectl's `create` subcommands send (namespaces, configmaps, secrets, service
//! accounts, services, deployments, jobs, cronjobs, RBAC roles and bindings, priority classes,
//! quotas, pod disruption budgets, ingresses, horizontal pod autoscalers) and grow kind by
//! kind.

use base64::Engine;
use serde_json::{Map, Value, json};

/// Why a protobuf body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// Not the Kubernetes envelope, or a truncated or malformed message.
    #[error("invalid protobuf body: {0}")]
    Malformed(String),
    /// A kind whose schema is not known yet.
    #[error("protobuf bodies of kind {0} are not supported yet; send JSON")]
    Unsupported(String),
}

type Result<T> = std::result::Result<T, ProtobufError>;

/// How one field is read and shown.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string; empty is omitted.
    Str,
    /// A pointer integer: shown whenever present.
    Int,
    /// A plain integer: zero is omitted.
    IntOmitZero,
    /// A pointer boolean: shown whenever present.
    Bool,
    /// A plain boolean: false is omitted.
    BoolOmitFalse,
    /// An `intstr.IntOrString` message, shown as a number or a string.
    IntOrStr,
    /// A `map<string, resource.Quantity>`, quantities shown as strings.
    MapQuantity,
    /// A `metav1.Time`, shown as RFC 3339; the zero time is omitted.
    Time,
    /// A nested message.
    Msg(&'static Message),
    /// A `map<string, string>`.
    MapStr,
    /// A `map<string, bytes>`, values shown in base64 as in JSON.
    MapBytes,
    /// A nested message whose fields JSON shows in the parent (Go's `json:",inline"`).
    Inline(&'static Message),
}

/// A message schema: `(field number, JSON name, kind, repeated)`.
#[derive(Debug)]
pub(crate) struct Message(pub(crate) &'static [(u32, &'static str, Kind, bool)]);

mod messages;

use Kind::{
    Bool, BoolOmitFalse, Inline, Int, IntOmitZero, IntOrStr, MapBytes, MapQuantity, MapStr, Msg,
    Str, Time,
};
use messages::schema;

/// Decodes a `application/vnd.kubernetes.protobuf` request body into the object's JSON form
/// (with `apiVersion` and `kind` from the envelope).
pub fn decode(body: &[u8]) -> Result<Value> {
    let envelope = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| ProtobufError::Malformed("missing the k8s\\0 prefix".into()))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for field in Fields(envelope) {
        match field? {
            (1, Wire::Bytes(type_meta)) => {
                for f in Fields(type_meta) {
                    match f? {
                        (1, Wire::Bytes(v)) => api_version = utf8(v)?,
                        (2, Wire::Bytes(v)) => kind = utf8(v)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = Some(bytes),
            (3, Wire::Bytes(encoding)) if !encoding.is_empty() => {
                return Err(ProtobufError::Unsupported(format!(
                    "{kind} with content encoding {}",
                    utf8(encoding)?
                )));
            }
            _ => {}
        }
    }
    let message = schema(&api_version, &kind)
        .ok_or_else(|| ProtobufError::Unsupported(format!("{api_version}/{kind}")))?;
    let mut object = read(message, raw.unwrap_or_default())?;
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    Ok(Value::Object(object))
}

fn utf8(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ProtobufError::Malformed("a string is not UTF-8".into()))
}

fn read(message: &Message, bytes: &[u8]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for field in Fields(bytes) {
        let (number, wire) = field?;
        let Some(&(_, name, kind, repeated)) = message.0.iter().find(|f| f.0 == number) else {
            continue; // a field this schema does not show (e.g. managedFields)
        };
        // An empty string is a value inside a list (`apiGroups: [""]` is the core group); only
        // a plain field's empty string is Go's omitted zero value.
        let value = match (kind, repeated, wire) {
            (Str, true, Wire::Bytes(b)) => Value::String(utf8(b)?),
            _ => match value(kind, wire)? {
                Some(value) => value,
                None => continue,
            },
        };
        match (kind, repeated) {
            (Inline(_), _) => {
                if let Value::Object(fields) = value {
                    out.extend(fields);
                }
            }
            (MapStr | MapBytes | MapQuantity, _) => {
                let map = out.entry(name).or_insert_with(|| json!({}));
                if let (Some(map), Value::Array(pair)) = (map.as_object_mut(), value)
                    && let [Value::String(k), v] = pair.as_slice()
                {
                    map.insert(k.clone(), v.clone());
                }
            }
            (_, true) => {
                if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    list.push(value);
                }
            }
            (_, false) => {
                out.insert(name.into(), value);
            }
        }
    }
    // Go's JSON omits empty maps and lists with omitempty, and we never need an empty one.
    out.retain(|_, v| {
        !matches!(v, Value::Object(m) if m.is_empty())
            && !matches!(v, Value::Array(a) if a.is_empty())
    });
    Ok(out)
}

fn value(kind: Kind, wire: Wire<'_>) -> Result<Option<Value>> {
    let bad =
        |what: &str| ProtobufError::Malformed(format!("a {what} field has the wrong wire type"));
    Ok(match (kind, wire) {
        (Str, Wire::Bytes(b)) => Some(utf8(b)?).filter(|s| !s.is_empty()).map(Value::String),
        (Int, Wire::Varint(v)) => Some(json!(v as i64)),
        (IntOmitZero, Wire::Varint(v)) => (v != 0).then(|| json!(v as i64)),
        (Bool, Wire::Varint(v)) => Some(json!(v != 0)),
        (BoolOmitFalse, Wire::Varint(v)) => (v != 0).then_some(Value::Bool(true)),
        (IntOrStr, Wire::Bytes(b)) => {
            let (mut is_string, mut number, mut text) = (false, 0i64, String::new());
            for f in Fields(b) {
                match f? {
                    (1, Wire::Varint(t)) => is_string = t == 1,
                    (2, Wire::Varint(v)) => number = v as i32 as i64,
                    (3, Wire::Bytes(v)) => text = utf8(v)?,
                    _ => {}
                }
            }
            Some(if is_string {
                json!(text)
            } else {
                json!(number)
            })
        }
        (Time, Wire::Bytes(b)) => {
            let mut seconds = 0i64;
            for f in Fields(b) {
                if let (1, Wire::Varint(v)) = f? {
                    seconds = v as i64;
                }
            }
            (seconds > 0).then(|| json!(crate::time::rfc3339(seconds as u64)))
        }
        (Msg(message) | Inline(message), Wire::Bytes(b)) => Some(Value::Object(read(message, b)?)),
        (MapStr | MapBytes | MapQuantity, Wire::Bytes(b)) => {
            let (mut key, mut val) = (String::new(), Value::String(String::new()));
            for f in Fields(b) {
                match (f?, kind) {
                    ((1, Wire::Bytes(k)), _) => key = utf8(k)?,
                    ((2, Wire::Bytes(v)), MapStr) => val = json!(utf8(v)?),
                    ((2, Wire::Bytes(quantity)), MapQuantity) => {
                        for q in Fields(quantity) {
                            if let (1, Wire::Bytes(text)) = q? {
                                val = json!(utf8(text)?);
                            }
                        }
                    }
                    ((2, Wire::Bytes(v)), _) => {
                        val = json!(base64::engine::general_purpose::STANDARD.encode(v))
                    }
                    _ => {}
                }
            }
            Some(json!([key, val]))
        }
        (Str | Time | Msg(_) | Inline(_) | MapStr | MapBytes | MapQuantity | IntOrStr, _) => {
            return Err(bad("length-delimited"));
        }
        (Int | IntOmitZero | Bool | BoolOmitFalse, _) => return Err(bad("varint")),
    })
}

/// A field's payload on the wire.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Iterates over the fields of one encoded message.
struct Fields<'a>(&'a [u8]);

fn varint(buf: &mut &[u8]) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf
            .split_first()
            .ok_or_else(|| ProtobufError::Malformed("truncated varint".into()))?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtobufError::Malformed("varint too long".into()))
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let mut step = || -> Result<(u32, Wire<'a>)> {
            let key = varint(&mut self.0)?;
            let number = u32::try_from(key >> 3)
                .map_err(|_| ProtobufError::Malformed("field number too large".into()))?;
            let wire = match key & 7 {
                0 => Wire::Varint(varint(&mut self.0)?),
                2 => {
                    let len = usize::try_from(varint(&mut self.0)?).unwrap_or(usize::MAX);
                    if len > self.0.len() {
                        return Err(ProtobufError::Malformed(
                            "a length runs past the end".into(),
                        ));
                    }
                    let (bytes, rest) = self.0.split_at(len);
                    self.0 = rest;
                    Wire::Bytes(bytes)
                }
                1 | 5 => {
                    let len = if key & 7 == 1 { 8 } else { 4 };
                    if len > self.0.len() {
                        return Err(ProtobufError::Malformed(
                            "a fixed field runs past the end".into(),
                        ));
                    }
                    self.0 = &self.0[len..];
                    Wire::Fixed
                }
                other => {
                    return Err(ProtobufError::Malformed(format!(
                        "unsupported wire type {other}"
                    )));
                }
            };
            Ok((number, wire))
        };
        let item = step();
        if item.is_err() {
            self.0 = &[]; // stop after an error
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    /// What kubectl 1.33 sent for `kubectl create namespace foo` (captured with `-v=9`).
    const CREATE_NAMESPACE_FOO: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x4e, 0x61, 0x6d,
        0x65, 0x73, 0x70, 0x61, 0x63, 0x65, 0x12, 0x1b, 0x0a, 0x13, 0x0a, 0x03, 0x66, 0x6f, 0x6f,
        0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x12,
        0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00, 0x22, 0x00,
    ];

    #[test]
    fn kubectls_create_namespace_body_decodes_to_the_object() {
        let object = decode(CREATE_NAMESPACE_FOO).unwrap();
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo"}})
        );
    }

    #[test]
    fn maps_bytes_and_labels_decode_as_json_shows_them() {
        let entry = |k: &str, v: &[u8]| field(0, &[field(1, k.as_bytes()), field(2, v)].concat());
        let meta = [
            field(1, b"cfg"),
            field(3, b"ns"),
            [field(11, &entry("app", b"web")[2..])].concat(),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &entry("k", b"\x00\xff")[2..]),
            field(3, b"Opaque"),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let object = decode(&body).unwrap();
        assert_eq!(
            object["metadata"],
            json!({"name": "cfg", "namespace": "ns", "labels": {"app": "web"}})
        );
        assert_eq!(object["data"], json!({"k": "AP8="}));
        assert_eq!(object["type"], "Opaque");
    }

    #[test]
    fn an_empty_string_in_a_list_is_kept() {
        let rule = [field(1, b"get"), field(2, b""), field(3, b"pods")].concat();
        let role = [field(1, &field(1, b"reader")), field(2, &rule)].concat();
        let type_meta = [field(1, b"rbac.authorization.k8s.io/v1"), field(2, b"Role")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &role)].concat();
        let object = decode(&body).unwrap();
        assert_eq!(
            object["rules"],
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])
        );
    }

    #[test]
    fn unknown_kinds_and_broken_bodies_are_refused() {
        let type_meta = [field(1, b"apps/v1"), field(2, b"StatefulSet")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta)].concat();
        assert!(matches!(decode(&body), Err(ProtobufError::Unsupported(_))));
        assert!(matches!(
            decode(b"{\"json\": true}"),
            Err(ProtobufError::Malformed(_))
        ));
        let truncated = &CREATE_NAMESPACE_FOO[..CREATE_NAMESPACE_FOO.len() - 10];
        assert!(matches!(
            decode(truncated),
            Err(ProtobufError::Malformed(_))
        ));
    }
}
