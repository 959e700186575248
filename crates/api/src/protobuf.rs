//! Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) read into JSON, for the
//! request bodies kubectl 1.32+ sends with its typed commands (`kubectl create namespace ...`).
//!
//! A body is the magic `k8s\0` and a `runtime.Unknown` envelope whose `typeMeta` names the kind
//! and whose `raw` holds the object. Objects are decoded generically from the wire format, driven
//! by a static schema per message type: field number → JSON name and type. Upstream's Go
//! encoder writes every non-pointer field even when empty, so empty strings, zero counters and
//! empty messages are dropped as Go's JSON `omitempty` would drop them.
//!
//! Kinds without a schema here are refused (the API server answers 415): the schemas cover what
//! kubectl's `create` subcommands send (namespaces, configmaps, secrets, service accounts,
//! services, deployments, jobs, cronjobs, RBAC roles and bindings, priority classes) and grow
//! kind by kind.

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
enum Kind {
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
}

/// A message schema: `(field number, JSON name, kind, repeated)`.
#[derive(Debug)]
struct Message(&'static [(u32, &'static str, Kind, bool)]);

use Kind::{
    Bool, BoolOmitFalse, Int, IntOmitZero, IntOrStr, MapBytes, MapQuantity, MapStr, Msg, Str, Time,
};

static OWNER_REFERENCE: Message = Message(&[
    (5, "apiVersion", Str, false),
    (1, "kind", Str, false),
    (3, "name", Str, false),
    (4, "uid", Str, false),
    (6, "controller", Bool, false),
    (7, "blockOwnerDeletion", Bool, false),
]);

static OBJECT_META: Message = Message(&[
    (1, "name", Str, false),
    (2, "generateName", Str, false),
    (3, "namespace", Str, false),
    (5, "uid", Str, false),
    (6, "resourceVersion", Str, false),
    (7, "generation", IntOmitZero, false),
    (8, "creationTimestamp", Time, false),
    (9, "deletionTimestamp", Time, false),
    (10, "deletionGracePeriodSeconds", Int, false),
    (11, "labels", MapStr, false),
    (12, "annotations", MapStr, false),
    (13, "ownerReferences", Msg(&OWNER_REFERENCE), true),
    (14, "finalizers", Str, true),
]);

static NAMESPACE_SPEC: Message = Message(&[(1, "finalizers", Str, true)]);
static NAMESPACE_STATUS: Message = Message(&[(1, "phase", Str, false)]);
static NAMESPACE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&NAMESPACE_SPEC), false),
    (3, "status", Msg(&NAMESPACE_STATUS), false),
]);

static CONFIG_MAP: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "data", MapStr, false),
    (3, "binaryData", MapBytes, false),
    (4, "immutable", Bool, false),
]);

static SECRET: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "data", MapBytes, false),
    (3, "type", Str, false),
    (4, "stringData", MapStr, false),
    (5, "immutable", Bool, false),
]);

static OBJECT_REFERENCE: Message = Message(&[
    (1, "kind", Str, false),
    (2, "namespace", Str, false),
    (3, "name", Str, false),
    (4, "uid", Str, false),
    (5, "apiVersion", Str, false),
    (6, "resourceVersion", Str, false),
    (7, "fieldPath", Str, false),
]);
static LOCAL_OBJECT_REFERENCE: Message = Message(&[(1, "name", Str, false)]);
static SERVICE_ACCOUNT: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "secrets", Msg(&OBJECT_REFERENCE), true),
    (3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE), true),
    (4, "automountServiceAccountToken", Bool, false),
]);

static LABEL_SELECTOR_REQUIREMENT: Message = Message(&[
    (1, "key", Str, false),
    (2, "operator", Str, false),
    (3, "values", Str, true),
]);
static LABEL_SELECTOR: Message = Message(&[
    (1, "matchLabels", MapStr, false),
    (
        2,
        "matchExpressions",
        Msg(&LABEL_SELECTOR_REQUIREMENT),
        true,
    ),
]);
static CONTAINER_PORT: Message = Message(&[
    (1, "name", Str, false),
    (2, "hostPort", IntOmitZero, false),
    (3, "containerPort", IntOmitZero, false),
    (4, "protocol", Str, false),
    (5, "hostIP", Str, false),
]);
static ENV_VAR: Message = Message(&[(1, "name", Str, false), (2, "value", Str, false)]);
static RESOURCES: Message = Message(&[
    (1, "limits", MapQuantity, false),
    (2, "requests", MapQuantity, false),
]);
static CONTAINER: Message = Message(&[
    (1, "name", Str, false),
    (2, "image", Str, false),
    (3, "command", Str, true),
    (4, "args", Str, true),
    (5, "workingDir", Str, false),
    (6, "ports", Msg(&CONTAINER_PORT), true),
    (7, "env", Msg(&ENV_VAR), true),
    (8, "resources", Msg(&RESOURCES), false),
    (13, "terminationMessagePath", Str, false),
    (14, "imagePullPolicy", Str, false),
    (16, "stdin", BoolOmitFalse, false),
    (17, "stdinOnce", BoolOmitFalse, false),
    (18, "tty", BoolOmitFalse, false),
    (20, "terminationMessagePolicy", Str, false),
]);
static POD_SPEC: Message = Message(&[
    (2, "containers", Msg(&CONTAINER), true),
    (3, "restartPolicy", Str, false),
    (4, "terminationGracePeriodSeconds", Int, false),
    (5, "activeDeadlineSeconds", Int, false),
    (6, "dnsPolicy", Str, false),
    (7, "nodeSelector", MapStr, false),
    (8, "serviceAccountName", Str, false),
    (10, "nodeName", Str, false),
    (11, "hostNetwork", BoolOmitFalse, false),
    (15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE), true),
    (16, "hostname", Str, false),
    (17, "subdomain", Str, false),
    (19, "schedulerName", Str, false),
    (20, "initContainers", Msg(&CONTAINER), true),
    (24, "priorityClassName", Str, false),
    (30, "enableServiceLinks", Bool, false),
]);
static POD_TEMPLATE_SPEC: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&POD_SPEC), false),
]);
static ROLLING_UPDATE_DEPLOYMENT: Message = Message(&[
    (1, "maxUnavailable", IntOrStr, false),
    (2, "maxSurge", IntOrStr, false),
]);
static DEPLOYMENT_STRATEGY: Message = Message(&[
    (1, "type", Str, false),
    (2, "rollingUpdate", Msg(&ROLLING_UPDATE_DEPLOYMENT), false),
]);
static DEPLOYMENT_SPEC: Message = Message(&[
    (1, "replicas", Int, false),
    (2, "selector", Msg(&LABEL_SELECTOR), false),
    (3, "template", Msg(&POD_TEMPLATE_SPEC), false),
    (4, "strategy", Msg(&DEPLOYMENT_STRATEGY), false),
    (5, "minReadySeconds", IntOmitZero, false),
    (6, "revisionHistoryLimit", Int, false),
    (7, "paused", BoolOmitFalse, false),
    (9, "progressDeadlineSeconds", Int, false),
]);
static DEPLOYMENT: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&DEPLOYMENT_SPEC), false),
]);
static SERVICE_PORT: Message = Message(&[
    (1, "name", Str, false),
    (2, "protocol", Str, false),
    (3, "port", IntOmitZero, false),
    (4, "targetPort", IntOrStr, false),
    (5, "nodePort", IntOmitZero, false),
    (6, "appProtocol", Str, false),
]);
static SERVICE_SPEC: Message = Message(&[
    (1, "ports", Msg(&SERVICE_PORT), true),
    (2, "selector", MapStr, false),
    (3, "clusterIP", Str, false),
    (4, "type", Str, false),
    (5, "externalIPs", Str, true),
    (7, "sessionAffinity", Str, false),
    (10, "externalName", Str, false),
    (18, "clusterIPs", Str, true),
]);
static SERVICE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&SERVICE_SPEC), false),
]);
static JOB_SPEC: Message = Message(&[
    (1, "parallelism", Int, false),
    (2, "completions", Int, false),
    (3, "activeDeadlineSeconds", Int, false),
    (4, "selector", Msg(&LABEL_SELECTOR), false),
    (5, "manualSelector", Bool, false),
    (6, "template", Msg(&POD_TEMPLATE_SPEC), false),
    (7, "backoffLimit", Int, false),
    (8, "ttlSecondsAfterFinished", Int, false),
    (9, "completionMode", Str, false),
    (10, "suspend", Bool, false),
]);
static JOB: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&JOB_SPEC), false),
]);
static JOB_TEMPLATE_SPEC: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&JOB_SPEC), false),
]);
static CRON_JOB_SPEC: Message = Message(&[
    (1, "schedule", Str, false),
    (2, "startingDeadlineSeconds", Int, false),
    (3, "concurrencyPolicy", Str, false),
    (4, "suspend", Bool, false),
    (5, "jobTemplate", Msg(&JOB_TEMPLATE_SPEC), false),
    (6, "successfulJobsHistoryLimit", Int, false),
    (7, "failedJobsHistoryLimit", Int, false),
    (8, "timeZone", Str, false),
]);
static CRON_JOB: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&CRON_JOB_SPEC), false),
]);

static POLICY_RULE: Message = Message(&[
    (1, "verbs", Str, true),
    (2, "apiGroups", Str, true),
    (3, "resources", Str, true),
    (4, "resourceNames", Str, true),
    (5, "nonResourceURLs", Str, true),
]);
static ROLE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "rules", Msg(&POLICY_RULE), true),
]);
static AGGREGATION_RULE: Message =
    Message(&[(1, "clusterRoleSelectors", Msg(&LABEL_SELECTOR), true)]);
static CLUSTER_ROLE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "rules", Msg(&POLICY_RULE), true),
    (3, "aggregationRule", Msg(&AGGREGATION_RULE), false),
]);
static SUBJECT: Message = Message(&[
    (1, "kind", Str, false),
    (2, "apiGroup", Str, false),
    (3, "name", Str, false),
    (4, "namespace", Str, false),
]);
static ROLE_REF: Message = Message(&[
    (1, "apiGroup", Str, false),
    (2, "kind", Str, false),
    (3, "name", Str, false),
]);
static ROLE_BINDING: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "subjects", Msg(&SUBJECT), true),
    (3, "roleRef", Msg(&ROLE_REF), false),
]);
static PRIORITY_CLASS: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "value", Int, false),
    (3, "globalDefault", BoolOmitFalse, false),
    (4, "description", Str, false),
    (5, "preemptionPolicy", Str, false),
]);

fn schema(api_version: &str, kind: &str) -> Option<&'static Message> {
    match (api_version, kind) {
        ("v1", "Namespace") => Some(&NAMESPACE),
        ("v1", "ConfigMap") => Some(&CONFIG_MAP),
        ("v1", "Secret") => Some(&SECRET),
        ("v1", "ServiceAccount") => Some(&SERVICE_ACCOUNT),
        ("v1", "Service") => Some(&SERVICE),
        ("apps/v1", "Deployment") => Some(&DEPLOYMENT),
        ("batch/v1", "Job") => Some(&JOB),
        ("batch/v1", "CronJob") => Some(&CRON_JOB),
        ("rbac.authorization.k8s.io/v1", "Role") => Some(&ROLE),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => Some(&CLUSTER_ROLE),
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => {
            Some(&ROLE_BINDING)
        }
        ("scheduling.k8s.io/v1", "PriorityClass") => Some(&PRIORITY_CLASS),
        _ => None,
    }
}

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
        (Msg(message), Wire::Bytes(b)) => Some(Value::Object(read(message, b)?)),
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
        (Str | Time | Msg(_) | MapStr | MapBytes | MapQuantity | IntOrStr, _) => {
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
