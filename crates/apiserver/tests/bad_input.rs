//! Bad input over real HTTP: each mistake gets upstream's `Status` (code, reason, message),
//! the server keeps serving, and nothing is stored.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use bytes::Bytes;
use gantry_apiserver::{ApiServer, Config, allocator::Ranges};
use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::sync::Arc;

struct Server {
    base: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        ranges: Ranges::default(),
        tls: None,
        service_accounts: None,
        advertise: None,
        pod_security: Default::default(),
    };
    let api = ApiServer::bind(config, Arc::new(store)).await.unwrap();
    let base = format!("http://{}", api.local_addr().unwrap());
    tokio::spawn(api.run(std::future::pending()));
    let client = Client::builder(TokioExecutor::new()).build_http();
    Server {
        base,
        client,
        _dir: dir,
    }
}

impl Server {
    async fn call(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> (u16, Value) {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(Full::new(body.into()))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let code = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.call("POST", path, "application/json", body.to_owned())
            .await
    }
}

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

fn status(code: u16, reason: &str) -> impl Fn(&(u16, Value)) {
    let reason = reason.to_owned();
    move |(got, body)| {
        assert_eq!(*got, code, "{body}");
        assert_eq!(body["kind"], "Status", "{body}");
        assert_eq!(body["reason"], reason.as_str(), "{body}");
        assert_eq!(body["code"], code, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mistake_gets_upstreams_status_and_nothing_is_stored() {
    let s = server().await;
    let bad_request = status(400, "BadRequest");

    let malformed = s.post(CONFIGMAPS, r#"{"metadata": {"name": "x""#).await;
    bad_request(&malformed);
    assert!(
        malformed.1["message"]
            .as_str()
            .unwrap()
            .contains("json parse error")
    );

    let yaml = s
        .call(
            "POST",
            CONFIGMAPS,
            "application/yaml",
            "metadata: [unclosed",
        )
        .await;
    bad_request(&yaml);

    let wrong_kind = s
        .post(
            CONFIGMAPS,
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}"#,
        )
        .await;
    bad_request(&wrong_kind);
    assert!(
        wrong_kind.1["message"]
            .as_str()
            .unwrap()
            .contains("does not match the expected API version")
    );

    let other_ns = s
        .post(
            CONFIGMAPS,
            r#"{"metadata":{"name":"x","namespace":"kube-system"}}"#,
        )
        .await;
    bad_request(&other_ns);
    assert_eq!(
        other_ns.1["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );

    let huge = format!(
        r#"{{"metadata":{{"name":"x"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    status(413, "RequestEntityTooLarge")(&s.post(CONFIGMAPS, &huge).await);

    let invalid = s
        .post(CONFIGMAPS, r#"{"metadata":{"name":"Not_Valid"}}"#)
        .await;
    status(422, "Invalid")(&invalid);
    assert_eq!(invalid.1["details"]["causes"][0]["field"], "metadata.name");

    let protobuf = s
        .call(
            "POST",
            CONFIGMAPS,
            "application/vnd.kubernetes.protobuf",
            "k8s\0",
        )
        .await;
    status(415, "UnsupportedMediaType")(&protobuf);

    let selector = s
        .call(
            "GET",
            &format!("{CONFIGMAPS}?labelSelector=a%20in%20("),
            "application/json",
            "",
        )
        .await;
    bad_request(&selector);
    let field = s
        .call(
            "GET",
            &format!("{CONFIGMAPS}?fieldSelector=spec.x%3D1"),
            "application/json",
            "",
        )
        .await;
    bad_request(&field);
    assert_eq!(field.1["message"], "field label not supported: spec.x");

    let missing_ns = s
        .post(
            "/api/v1/namespaces/nowhere/configmaps",
            r#"{"metadata":{"name":"x"}}"#,
        )
        .await;
    status(404, "NotFound")(&missing_ns);
    status(404, "NotFound")(
        &s.call(
            "GET",
            "/api/v1/namespaces/default/widgets",
            "application/json",
            "",
        )
        .await,
    );
    let dry = s
        .call(
            "POST",
            &format!("{CONFIGMAPS}?dryRun=Some"),
            "application/json",
            r#"{"metadata":{"name":"x"}}"#.to_owned(),
        )
        .await;
    bad_request(&dry);

    // Shapes the registry would otherwise index into: refused, never a panic.
    let services = "/api/v1/namespaces/default/services";
    bad_request(
        &s.post(services, r#"{"metadata":{"name":"s"},"spec":"x"}"#)
            .await,
    );
    bad_request(&s.post(CONFIGMAPS, r#"{"metadata":["x"]}"#).await);
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    bad_request(
        &s.post(deployments, r#"{"metadata":{"name":"d"},"spec":5}"#)
            .await,
    );
    let kubernetes = "/api/v1/namespaces/default/services/kubernetes";
    let patched = s
        .call(
            "PATCH",
            kubernetes,
            "application/merge-patch+json",
            r#"{"spec":"x"}"#,
        )
        .await;
    bad_request(&patched);

    // After all of that, the server still works and stored nothing.
    let (code, list) = s.call("GET", CONFIGMAPS, "application/json", "").await;
    assert_eq!((code, list["items"].clone()), (200, json!([])));
    let good = s
        .call(
            "POST",
            CONFIGMAPS,
            "application/yaml",
            "metadata:\n  name: from-yaml\ndata:\n  k: v\n",
        )
        .await;
    assert_eq!(good.0, 201, "{}", good.1);
    assert_eq!(good.1["data"]["k"], "v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_accepts_only_protobuf_is_told_406() {
    let s = server().await;
    let request = http::Request::builder()
        .uri(format!("{}{CONFIGMAPS}", s.base))
        .header("accept", "application/vnd.kubernetes.protobuf")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = s.client.request(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 406);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_answer_in_upstreams_shape() {
    let s = server().await;
    let get = |path: &'static str| {
        let s = &s;
        async move {
            let request = http::Request::builder()
                .uri(format!("{}{path}", s.base))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = s.client.request(request).await.unwrap();
            let code = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (code, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    assert_eq!(get("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get("/livez/etcd").await, (200, "ok".to_owned()));
    // Ready once the watch cache has its first list (a moment after start).
    let mut ready = get("/readyz/informer-sync").await.0;
    for _ in 0..100 {
        if ready == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        ready = get("/readyz/informer-sync").await.0;
    }
    assert_eq!(ready, 200);
    assert_eq!(get("/healthz/informer-sync").await.0, 404);
    let (code, verbose) = get("/readyz?verbose").await;
    assert_eq!(code, 200);
    assert!(
        verbose.starts_with("[+]ping ok\n") && verbose.contains("[+]etcd ok\n"),
        "{verbose}"
    );
    assert!(verbose.ends_with("readyz check passed\n"), "{verbose}");
    assert_eq!(get("/livez/nonsense").await.0, 404);
}
