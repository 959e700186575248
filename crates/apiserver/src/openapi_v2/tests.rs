use super::*;

/// The fields of one protobuf message: (number, bytes of a length-delimited value).
fn fields(mut bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let varint = |bytes: &mut &[u8]| {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                return value;
            }
        }
    };
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        match key & 7 {
            0 => {
                let v = varint(&mut bytes);
                out.push((key >> 3, v.to_le_bytes().to_vec()));
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)).unwrap();
                out.push((key >> 3, bytes[..len].to_vec()));
                bytes = &bytes[len..];
            }
            wire => panic!("unexpected wire type {wire}"),
        }
    }
    out
}

fn field(bytes: &[u8], number: u64) -> Vec<Vec<u8>> {
    fields(bytes)
        .into_iter()
        .filter(|(n, _)| *n == number)
        .map(|(_, v)| v)
        .collect()
}

fn text(bytes: &[u8], number: u64) -> String {
    String::from_utf8(field(bytes, number).pop().unwrap_or_default()).unwrap()
}

#[test]
fn patch_operations_name_their_kind_and_take_field_validation() {
    let doc = document();
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
    );
    // Create-only kinds have no PATCH, so clients check them themselves.
    let reviews = &doc["paths"]["/apis/authentication.k8s.io/v1/tokenreviews"];
    assert!(reviews.get("post").is_some() && reviews.get("patch").is_none());
}

#[test]
fn the_protobuf_is_gnostics_document() {
    let bytes = proto::document(&document());
    assert_eq!(text(&bytes, 1), "2.0");
    assert_eq!(text(&field(&bytes, 2)[0], 1), "Kubernetes");
    let paths = &field(&bytes, 8)[0];
    // Find the Deployment item path and its PATCH operation's GVK extension.
    let item = field(paths, 2)
        .into_iter()
        .find(|named| text(named, 1) == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        .unwrap();
    let path_item = &field(&item, 2)[0];
    let patch = &field(path_item, 8)[0];
    let extensions: Vec<(String, String)> = field(patch, 13)
        .iter()
        .map(|named| (text(named, 1), text(&field(named, 2)[0], 2)))
        .collect();
    assert!(
        extensions.contains(&(
            "x-kubernetes-group-version-kind".to_owned(),
            "group: apps\nkind: Deployment\nversion: v1\n".to_owned()
        )),
        "{extensions:?}"
    );
    assert!(extensions.contains(&("x-kubernetes-action".to_owned(), "patch\n".to_owned())));
    // fieldValidation is a query parameter: ParametersItem → Parameter → NonBodyParameter →
    // QueryParameterSubSchema (name 4, in 2).
    let query_names: Vec<String> = field(patch, 8)
        .iter()
        .filter_map(|item| {
            let parameter = &field(item, 1)[0];
            let non_body = field(parameter, 2).pop()?;
            let query = field(&non_body, 3).pop()?;
            Some(text(&query, 4))
        })
        .collect();
    assert!(
        query_names.contains(&"fieldValidation".to_owned()),
        "{query_names:?}"
    );
}

#[test]
fn clients_get_the_form_they_ask_for() {
    let ask = |accept: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, accept.parse().unwrap());
        respond(&headers)
    };
    let protobuf = ask(PROTOBUF_ASKED).unwrap();
    assert_eq!(protobuf.headers()[header::CONTENT_TYPE], PROTOBUF);
    let json = ask("application/json").unwrap();
    assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        protobuf.headers()[header::ETAG],
        json.headers()[header::ETAG]
    );
    assert_eq!(ask("text/plain").unwrap_err().code, 406);
    let mut again = HeaderMap::new();
    again.insert(header::ACCEPT, PROTOBUF_ASKED.parse().unwrap());
    again.insert(header::IF_NONE_MATCH, json.headers()[header::ETAG].clone());
    assert_eq!(respond(&again).unwrap().status(), StatusCode::NOT_MODIFIED);
}
