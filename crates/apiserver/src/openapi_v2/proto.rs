//! The Swagger 2.0 document in gnostic's protobuf form (`openapi.v2.Document`), which
//! client-go decodes: written field by field from the JSON document `super::document` builds.
//! proto3 rules: empty strings, false and empty repeated fields are left out; a message set in
//! a `oneof` is written even when empty. Vendor extensions (`x-…` keys) become `NamedAny`s whose
//! `Any.yaml` holds the value as YAML text, as gnostic writes them.

use serde_json::Value;

/// A message being written.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, text: &str) {
        if !text.is_empty() {
            self.bytes(field, text.as_bytes());
        }
    }

    fn bool(&mut self, field: u32, value: bool) {
        if value {
            self.key(field, 0);
            self.varint(1);
        }
    }

    /// A nested message, written even when empty.
    fn message(&mut self, field: u32, message: Writer) {
        self.bytes(field, &message.0);
    }

    fn strings(&mut self, field: u32, value: Option<&Value>) {
        for text in value.and_then(Value::as_array).into_iter().flatten() {
            self.string(field, text.as_str().unwrap_or_default());
        }
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A JSON value as the YAML text gnostic keeps in `Any.yaml` (block style, the empty string
/// quoted; keys sorted, which clients read as the map it is).
fn yaml(value: &Value) -> String {
    fn scalar(value: &Value) -> String {
        match value {
            Value::String(s) if s.is_empty() => "\"\"".to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", scalar(v)))
            .collect(),
        other => format!("{}\n", scalar(other)),
    }
}

/// The `x-…` keys of a JSON object as `NamedAny`s in `field`.
fn extensions(writer: &mut Writer, field: u32, value: &Value) {
    for (name, extension) in value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("x-"))
    {
        let mut any = Writer::default();
        any.string(2, &yaml(extension));
        let mut named = Writer::default();
        named.string(1, name);
        named.message(2, any);
        writer.message(field, named);
    }
}

fn schema(value: &Value) -> Writer {
    let mut w = Writer::default();
    w.string(1, text(value, "$ref"));
    w.string(2, text(value, "format"));
    w.string(4, text(value, "description"));
    if let Some(kind) = value.get("type").and_then(Value::as_str) {
        let mut types = Writer::default();
        types.string(1, kind);
        w.message(22, types);
    }
    extensions(&mut w, 31, value);
    w
}

fn parameter(value: &Value) -> Writer {
    let mut parameter = Writer::default();
    match text(value, "in") {
        "body" => {
            let mut body = Writer::default();
            body.string(1, text(value, "description"));
            body.string(2, text(value, "name"));
            body.string(3, "body");
            body.bool(4, value.get("required") == Some(&Value::Bool(true)));
            if let Some(s) = value.get("schema") {
                body.message(5, schema(s));
            }
            parameter.message(1, body);
        }
        place => {
            // Query sub-schemas carry `allowEmptyValue` (5), so their later fields are one
            // higher than the path and header ones.
            let query = place == "query";
            let mut sub = Writer::default();
            sub.bool(1, value.get("required") == Some(&Value::Bool(true)));
            sub.string(2, place);
            sub.string(3, text(value, "description"));
            sub.string(4, text(value, "name"));
            let shift = u32::from(query);
            sub.string(5 + shift, text(value, "type"));
            sub.bool(
                19 + shift,
                value.get("uniqueItems") == Some(&Value::Bool(true)),
            );
            let mut non_body = Writer::default();
            let which = match place {
                "header" => 1,
                "query" => 3,
                _ => 4,
            };
            non_body.message(which, sub);
            parameter.message(2, non_body);
        }
    }
    let mut item = Writer::default();
    item.message(1, parameter);
    item
}

fn parameters(writer: &mut Writer, field: u32, value: Option<&Value>) {
    for p in value.and_then(Value::as_array).into_iter().flatten() {
        writer.message(field, parameter(p));
    }
}

fn operation(value: &Value) -> Writer {
    let mut w = Writer::default();
    w.string(3, text(value, "description"));
    w.string(5, text(value, "operationId"));
    w.strings(6, value.get("produces"));
    w.strings(7, value.get("consumes"));
    parameters(&mut w, 8, value.get("parameters"));
    let mut responses = Writer::default();
    for (code, response) in value
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut body = Writer::default();
        body.string(1, text(response, "description"));
        let mut response_value = Writer::default();
        response_value.message(1, body);
        let mut named = Writer::default();
        named.string(1, code);
        named.message(2, response_value);
        responses.message(1, named);
    }
    w.message(9, responses);
    w.strings(10, value.get("schemes"));
    extensions(&mut w, 13, value);
    w
}

fn path_item(value: &Value) -> Writer {
    let mut w = Writer::default();
    for (method, field) in [
        ("get", 2),
        ("put", 3),
        ("post", 4),
        ("delete", 5),
        ("patch", 8),
    ] {
        if let Some(op) = value.get(method) {
            w.message(field, operation(op));
        }
    }
    parameters(&mut w, 9, value.get("parameters"));
    w
}

/// The document's protobuf bytes.
pub(super) fn document(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(1, text(value, "swagger"));
    let info = value.get("info").unwrap_or(&Value::Null);
    let mut info_w = Writer::default();
    info_w.string(1, text(info, "title"));
    info_w.string(2, text(info, "version"));
    w.message(2, info_w);
    let mut paths = Writer::default();
    for (name, item) in value
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut named = Writer::default();
        named.string(1, name);
        named.message(2, path_item(item));
        paths.message(2, named);
    }
    w.message(8, paths);
    let mut definitions = Writer::default();
    for (name, s) in value
        .get("definitions")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut named = Writer::default();
        named.string(1, name);
        named.message(2, schema(s));
        definitions.message(1, named);
    }
    w.message(9, definitions);
    // `security: [{BearerToken: []}]`: one requirement naming the scheme with no scopes.
    for requirement in value
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut req = Writer::default();
        for (name, _) in requirement.as_object().into_iter().flatten() {
            let mut named = Writer::default();
            named.string(1, name);
            named.message(2, Writer::default());
            req.message(1, named);
        }
        w.message(12, req);
    }
    let mut security = Writer::default();
    for (name, scheme) in value
        .get("securityDefinitions")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut api_key = Writer::default();
        api_key.string(1, text(scheme, "type"));
        api_key.string(2, text(scheme, "name"));
        api_key.string(3, text(scheme, "in"));
        api_key.string(4, text(scheme, "description"));
        let mut item = Writer::default();
        item.message(2, api_key);
        let mut named = Writer::default();
        named.string(1, name);
        named.message(2, item);
        security.message(1, named);
    }
    w.message(13, security);
    w.0
}
