//! The request path: decode what is asked (target, verb, media types), check it, dispatch to
//! discovery or the generic registry, encode the answer. Authentication, authorization and
//! admission (the security issue) slot in at [`Handler::admit`], between decoding and the
//! registry, as upstream's filter chain orders them.

use crate::discovery::{self, Aggregated};
use crate::registry::{DeleteOptions, ListOptions, PatchType, Registry, ScaleChange};
use crate::request::{self, Query, ResourceRequest, Target, Verb};
use crate::status::{ApiError, Cause};
use crate::table::{IncludeObject, TableWriter};
use crate::warnings::FieldValidation;
use crate::watch;
use crate::watch_cache::WatchCache;
use bytes::Bytes;
use futures::StreamExt;
use gantry_api::catalogue::{self, Resource};
use http::{HeaderMap, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use serde_json::{Value, json};
use std::convert::Infallible;

/// Every response body: whole, or streamed for watches.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Upstream's limit on request bodies (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub use gantry_api::version::KUBERNETES_MINOR;

/// Serves requests.
#[derive(Debug, Clone)]
pub struct Handler {
    registry: Registry,
    cache: WatchCache,
    server_address: String,
    authorizer: crate::auth::authorize::Authorizer,
    tokens: Option<crate::auth::service_account::TokenIssuer>,
    /// How kubelets are reached (logs, exec, attach, port-forward, node proxy).
    kubelets: gantry_streaming::Dialer,
}

fn json_response(code: u16, body: &Value, content_type: &str) -> Response<Body> {
    let bytes = Bytes::from(body.to_string());
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(bytes).boxed_unsync())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
}

/// The `Status` response for an error.
pub fn error_response(error: &ApiError) -> Response<Body> {
    json_response(error.code, &error.to_status(), "application/json")
}

fn ok(body: &Value) -> Response<Body> {
    json_response(200, body, "application/json")
}

fn text_response(code: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("x-content-type-options", "nosniff")
        .body(Full::new(Bytes::from(body)).boxed_unsync())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
}

/// What the client accepts for a resource response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Json,
    Table(&'static str),
}

/// Picks the first representation in the Accept header that can be produced.
fn negotiate(headers: &HeaderMap) -> Result<Output, ApiError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.trim().is_empty() {
        return Ok(Output::Json);
    }
    for media in accept.split(',') {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        let base = params[0];
        let has = |p: &str| params.iter().any(|q| q.eq_ignore_ascii_case(p));
        if has("as=Table") && has("g=meta.k8s.io") {
            if base != "application/json" {
                continue;
            }
            if has("v=v1") {
                return Ok(Output::Table("meta.k8s.io/v1"));
            }
            if has("v=v1beta1") {
                return Ok(Output::Table("meta.k8s.io/v1beta1"));
            }
            continue;
        }
        if params.iter().any(|p| p.starts_with("as=")) {
            continue; // another conversion (PartialObjectMetadata...) not served yet
        }
        if matches!(base, "application/json" | "*/*" | "application/*") {
            return Ok(Output::Json);
        }
    }
    Err(ApiError::not_acceptable(
        "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io",
    ))
}

impl Handler {
    /// A handler over `registry`; `server_address` is what `/api` advertises.
    pub fn new(
        registry: Registry,
        cache: WatchCache,
        server_address: String,
        authorizer: crate::auth::authorize::Authorizer,
        tokens: Option<crate::auth::service_account::TokenIssuer>,
    ) -> Self {
        Self {
            registry,
            cache,
            server_address,
            authorizer,
            tokens,
            kubelets: gantry_streaming::Dialer::default(),
        }
    }

    /// Reaches kubelets with `dialer` (TLS with the API server's client certificate).
    pub fn with_kubelets(mut self, dialer: gantry_streaming::Dialer) -> Self {
        self.kubelets = dialer;
        self
    }

    /// The ServiceAccount token issuer, if the server has a signing key.
    pub fn tokens(&self) -> Option<&crate::auth::service_account::TokenIssuer> {
        self.tokens.as_ref()
    }

    /// The authorizer requests are decided by.
    pub fn authorizer(&self) -> &crate::auth::authorize::Authorizer {
        &self.authorizer
    }

    /// Whether the current user may ask for tokens of `account` for an audience its pod does
    /// not mount (upstream's `request-serviceaccounts-token-audience` verb, the audience as the
    /// resource).
    fn audience_allowed(&self, namespace: &str, account: &str, audience: &str) -> bool {
        let attributes = crate::auth::Attributes::Resource {
            verb: "request-serviceaccounts-token-audience".to_owned(),
            group: String::new(),
            resource: audience.to_owned(),
            subresource: None,
            namespace: Some(namespace.to_owned()),
            name: Some(account.to_owned()),
            field_selector: None,
        };
        crate::auth::user::with_current(|user| self.authorizer.decision(user, &attributes).0)
            .unwrap_or(false)
    }

    /// The registry requests are served from.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Serves one request whose body has been read (up to the limit).
    pub async fn serve(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response<Body> {
        let query = Query::parse(query);
        let target = request::parse(method, path, &query);
        let result = match target {
            Target::Version => Ok(ok(&version())),
            Target::OpenApiV3(None) => Ok(ok(&crate::openapi::index())),
            Target::OpenApiV3(Some((group, version))) => crate::openapi::document(&group, &version)
                .map(|doc| ok(&doc))
                .ok_or_else(ApiError::path_not_found),
            Target::OpenApiV2 => crate::openapi_v2::respond(headers),
            Target::Health(endpoint, check) => {
                Ok(self.health(&endpoint, check.as_deref(), &query).await)
            }
            Target::LegacyRoot
            | Target::GroupsRoot
            | Target::Group(_)
            | Target::GroupVersion { .. } => self.discovery(&target, headers),
            Target::Resource(request) => self.resource(request, &query, headers, body).await,
            Target::OpenIdConfiguration => match &self.tokens {
                Some(tokens) => Ok(json_response(
                    200,
                    &tokens.discovery(&format!("https://{}/openid/v1/jwks", self.server_address)),
                    "application/json",
                )),
                None => Err(ApiError::path_not_found()),
            },
            Target::Jwks => match &self.tokens {
                Some(tokens) => Ok(json_response(
                    200,
                    &tokens.jwks(),
                    "application/jwk-set+json",
                )),
                None => Err(ApiError::path_not_found()),
            },
            Target::Unknown => Err(ApiError::path_not_found()),
        };
        result.unwrap_or_else(|error| error_response(&error))
    }

    /// `/livez`, `/readyz`, `/healthz` in upstream's shape: `ok`, or with `?verbose` one
    /// `[+]name ok` line per check and `<endpoint> check passed`; a failing check makes it a 500
    /// (`[-]name failed: reason withheld`); `/<endpoint>/<check>` runs one check.
    async fn health(&self, endpoint: &str, only: Option<&str>, query: &Query) -> Response<Body> {
        let store_ok = self.registry.store().current_revision().await.is_ok();
        let mut checks = vec![("ping", true), ("log", true), ("etcd", store_ok)];
        // Upstream checks its informers' sync for readiness only.
        if endpoint == "readyz" {
            checks.push(("informer-sync", self.cache.is_ready()));
        }
        if let Some(name) = only {
            return match checks.iter().find(|(n, _)| *n == name) {
                Some((_, true)) => text_response(200, "ok".into()),
                Some((_, false)) => {
                    text_response(500, "internal server error: check failed".into())
                }
                None => error_response(&ApiError::path_not_found()),
            };
        }
        let healthy = checks.iter().all(|(_, ok)| *ok);
        if !query.flag("verbose") && healthy {
            return text_response(200, "ok".into());
        }
        let mut body = String::new();
        for (name, ok) in &checks {
            if *ok {
                body.push_str(&format!("[+]{name} ok\n"));
            } else {
                body.push_str(&format!("[-]{name} failed: reason withheld\n"));
            }
        }
        let verdict = if healthy { "passed" } else { "failed" };
        body.push_str(&format!("{endpoint} check {verdict}\n"));
        text_response(if healthy { 200 } else { 500 }, body)
    }

    fn discovery(&self, target: &Target, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let aggregated = Aggregated::from_accept(accept);
        let respond = |body: Value| match aggregated {
            Some(kind) if matches!(target, Target::LegacyRoot | Target::GroupsRoot) => {
                json_response(200, &body, &kind.content_type())
            }
            _ => ok(&body),
        };
        match target {
            Target::LegacyRoot => Ok(respond(discovery::legacy_root(
                aggregated,
                &self.server_address,
            ))),
            Target::GroupsRoot => Ok(respond(discovery::groups_root(aggregated))),
            Target::Group(name) => discovery::group(name)
                .map(|b| ok(&b))
                .ok_or_else(ApiError::path_not_found),
            Target::GroupVersion { group, version } => discovery::resource_list(group, version)
                .map(|b| ok(&b))
                .ok_or_else(ApiError::path_not_found),
            _ => Err(ApiError::path_not_found()),
        }
    }

    /// exec, attach and port-forward: checked against the pod, then passed to its node.
    pub async fn stream<B>(
        &self,
        target: crate::node_proxy::StreamTarget,
        request: &mut http::Request<B>,
    ) -> Response<Body> {
        match crate::node_proxy::stream(&self.registry, &self.kubelets, &target, request).await {
            Ok(response) => response,
            Err(error) => error_response(&error),
        }
    }

    /// `GET nodes/<name>/proxy/<path>`, passed to the node.
    pub async fn proxy_node(&self, node: &str, path: &str, query: Option<&str>) -> Response<Body> {
        match crate::node_proxy::node_get(&self.registry, &self.kubelets, node, path, query).await {
            Ok(response) => response,
            Err(error) => error_response(&error),
        }
    }

    /// The admission point: authentication, authorization and admission plug in here.
    fn admit(&self, _request: &ResourceRequest) -> Result<(), ApiError> {
        Ok(())
    }

    async fn resource(
        &self,
        request: ResourceRequest,
        query: &Query,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Response<Body>, ApiError> {
        let resource = catalogue::find(&request.group, &request.version, &request.resource)
            .ok_or_else(ApiError::path_not_found)?;
        if !resource.namespaced && request.namespace.is_some() {
            return Err(ApiError::path_not_found());
        }
        let output = negotiate(headers)?;
        self.admit(&request)?;
        if crate::auth::reviews::is_review(resource.group, resource.plural) {
            if request.verb != Verb::Create {
                return Err(ApiError::method_not_supported(
                    resource.group,
                    resource.plural,
                    request.verb.as_str(),
                ));
            }
            let body = decode_body(headers, &body)?;
            if resource.plural == "tokenreviews" {
                let answer = Box::pin(crate::auth::reviews::token_review(
                    &self.registry,
                    self.tokens.as_ref(),
                    body,
                ))
                .await?;
                return Ok(json_response(201, &answer, "application/json"));
            }
            let user = crate::auth::user::current().unwrap_or_else(crate::auth::User::unsecured);
            let namespace = request.namespace.as_deref();
            let answer = crate::auth::reviews::answer(
                &self.authorizer,
                &user,
                resource.plural,
                namespace,
                body,
            )?;
            return Ok(json_response(201, &answer, "application/json"));
        }
        let ns = request.namespace.as_deref();
        let name = request.name.as_deref();
        let sub = request.subresource.as_deref();
        if let Some(sub) = sub {
            let known = resource.subresource(sub).is_some();
            let allowed = match sub {
                "status" | "scale" | "approval" => {
                    matches!(request.verb, Verb::Get | Verb::Update | Verb::Patch)
                }
                "binding" | "eviction" => request.verb == Verb::Create,
                "log" => request.verb == Verb::Get,
                "finalize" => request.verb == Verb::Update,
                "token" => request.verb == Verb::Create,
                _ => false,
            };
            if !known || !allowed {
                return Err(ApiError::path_not_found());
            }
        }
        if sub == Some("token") {
            let tokens = self.tokens.as_ref().ok_or_else(|| {
                ApiError::internal("the API server has no service account signing key")
            })?;
            let body = decode_body(headers, &body)?;
            let (namespace, account) = (ns.unwrap_or_default(), name.unwrap_or_default());
            // (Boxed: the admission futures are large and the request path is deep.)
            Box::pin(
                self.registry
                    .admit_node_token(namespace, account, &body, |audience| {
                        self.audience_allowed(namespace, account, audience)
                    }),
            )
            .await?;
            let answer = tokens
                .token_request(
                    &self.registry,
                    ns.unwrap_or_default(),
                    name.unwrap_or_default(),
                    body,
                )
                .await?;
            return Ok(json_response(201, &answer, "application/json"));
        }
        if sub == Some("log") {
            let (ns, name) = (ns.unwrap_or_default(), name.unwrap_or_default());
            return crate::node_proxy::container_log(
                &self.registry,
                &self.kubelets,
                ns,
                name,
                query,
            )
            .await;
        }
        // `POST .../pods/<name>/binding`, `.../eviction`, and the older `POST .../bindings`.
        let pods =
            || catalogue::find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"));
        if (resource.group, resource.plural) == ("", "bindings") && request.verb != Verb::Create {
            return Err(ApiError::method_not_supported(
                resource.group,
                resource.plural,
                request.verb.as_str(),
            ));
        }
        if matches!(sub, Some("binding" | "eviction"))
            || (resource.group, resource.plural) == ("", "bindings")
        {
            let body = decode_body(headers, &body)?;
            let target = match name {
                Some(name) => name.to_owned(),
                None => crate::meta::meta_str(&body, "name")
                    .unwrap_or_default()
                    .to_owned(),
            };
            let status = if sub == Some("eviction") {
                Box::pin(
                    self.registry
                        .admit_node_eviction(ns.unwrap_or_default(), &target),
                )
                .await?;
                self.registry
                    .evict(pods()?, ns, &target, &body, query.dry_run()?)
                    .await?
            } else {
                self.registry
                    .bind(pods()?, ns, &target, &body, query.dry_run()?)
                    .await?
            };
            return Ok(json_response(201, &status, "application/json"));
        }
        if !resource.has_verb(request.verb.as_str()) {
            return Err(ApiError::method_not_supported(
                resource.group,
                resource.plural,
                request.verb.as_str(),
            ));
        }
        if resource.namespaced
            && ns.is_none()
            && matches!(request.verb, Verb::Create | Verb::DeleteCollection)
        {
            return Err(ApiError::method_not_supported(
                resource.group,
                resource.plural,
                request.verb.as_str(),
            ));
        }
        let dry_run = query.dry_run()?;
        let registry = &self.registry;
        let table = |include| match output {
            Output::Table(version) => Some(TableWriter::new(version, include)),
            Output::Json => None,
        };
        let include = match query.get("includeObject") {
            Some("Object") => IncludeObject::Object,
            Some("None") => IncludeObject::None,
            _ => IncludeObject::Metadata,
        };
        let single = |object: Value, code: u16| match table(include) {
            Some(writer) if object["kind"] != "Status" => {
                let metadata = json!({"resourceVersion": object.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""))});
                json_response(
                    code,
                    &writer.table(resource, vec![object], metadata),
                    "application/json",
                )
            }
            _ => json_response(code, &object, "application/json"),
        };
        if sub == Some("scale") {
            let name = name.unwrap_or_default();
            let scale = match request.verb {
                Verb::Get => registry.get_scale(resource, ns, name).await?,
                Verb::Update => {
                    let body = decode_body(headers, &body)?;
                    let manager = write_manager(request.verb, false, query, headers)?;
                    let change = ScaleChange::Replace(&body);
                    let write = registry.write_scale(resource, ns, name, change, dry_run);
                    crate::field_manager::scoped(manager, sub, write).await?
                }
                _ => {
                    let patch = crate::registry::decode_patch(&body)?;
                    let manager = write_manager(request.verb, false, query, headers)?;
                    let change = ScaleChange::Patch(patch_type(headers)?, &patch);
                    let write = registry.write_scale(resource, ns, name, change, dry_run);
                    crate::field_manager::scoped(manager, sub, write).await?
                }
            };
            return Ok(ok(&scale));
        }
        match request.verb {
            Verb::Get => Ok(single(
                registry.get(resource, ns, name.unwrap_or_default()).await?,
                200,
            )),
            Verb::List => {
                let options = ListOptions::parse(resource, query)?;
                let list = match self.list_from_cache(resource, ns, &options).await {
                    // The list's items are the cache's bytes, joined as they are.
                    Some(cached) if table(include).is_none() => {
                        return Ok(cached.response(resource));
                    }
                    Some(cached) => cached.to_value(resource),
                    None => registry.list(resource, ns, &options).await?,
                };
                Ok(match table(include) {
                    Some(writer) => {
                        let items = list["items"].as_array().cloned().unwrap_or_default();
                        let items = items
                            .into_iter()
                            .map(|mut item| {
                                item["apiVersion"] = json!(resource.api_version());
                                item["kind"] = json!(resource.kind);
                                item
                            })
                            .collect();
                        ok(&writer.table(resource, items, list["metadata"].clone()))
                    }
                    None => ok(&list),
                })
            }
            Verb::Watch => self.watch(resource, ns, name, query, table(include)).await,
            Verb::Create | Verb::Update | Verb::Patch => {
                let validation = FieldValidation::parse(query.get("fieldValidation"))?;
                let applying = request.verb == Verb::Patch
                    && content_type(headers) == "application/apply-patch+yaml";
                let manager = write_manager(request.verb, applying, query, headers)?;
                // Upstream checks `force` on patches only (create and update ignore it).
                let force = match query.get("force") {
                    None => false,
                    Some(_) if request.verb != Verb::Patch => false,
                    Some(_) if !applying => {
                        return Err(patch_options_invalid(Cause::forbidden(
                            "force",
                            "may not be specified for non-apply patch",
                        )));
                    }
                    // As Go's `ParseBool`: clients send `true`, `True` or `1`.
                    Some(value) => matches!(value, "1" | "t" | "T" | "true" | "True" | "TRUE"),
                };
                let write = async {
                    let name = name.unwrap_or_default();
                    if validation != FieldValidation::Ignore
                        && (request.verb != Verb::Patch || applying)
                    {
                        crate::warnings::note_duplicates(crate::duplicates::find(&body));
                    }
                    match request.verb {
                        Verb::Create => {
                            let object = decode_body(headers, &body)?;
                            let created = registry.create(resource, ns, object, dry_run).await?;
                            Ok::<(Value, u16), ApiError>((created, 201))
                        }
                        Verb::Update => {
                            let object = decode_body(headers, &body)?;
                            let updated = registry
                                .update(resource, ns, name, sub, object, dry_run)
                                .await?;
                            Ok((updated, 200))
                        }
                        _ if applying => {
                            registry
                                .apply(resource, ns, name, sub, &body, force, dry_run)
                                .await
                        }
                        _ => {
                            let patch_type = patch_type(headers)?;
                            let patched = registry
                                .patch(resource, ns, name, sub, (patch_type, &body), dry_run)
                                .await?;
                            Ok((patched, 200))
                        }
                    }
                };
                let write = crate::field_manager::scoped(manager, sub, write);
                let (result, warnings) = crate::warnings::scoped(validation, write).await;
                let (object, code) = result?;
                let mut response = single(object, code);
                for warning in warnings {
                    if let Ok(value) = crate::warnings::header_value(&warning).parse() {
                        response.headers_mut().append("warning", value);
                    }
                }
                Ok(response)
            }
            Verb::Delete => {
                let options = DeleteOptions::parse(&body, query)?;
                let name = name.unwrap_or_default();
                Ok(single(
                    registry
                        .delete(resource, ns, name, &options, dry_run)
                        .await?,
                    200,
                ))
            }
            Verb::DeleteCollection => {
                let options = DeleteOptions::parse(&body, query)?;
                let list = ListOptions::parse(resource, query)?;
                let (items, _, _, _) = registry.list_items(resource, ns, &list).await?;
                for item in items {
                    let name = crate::meta::meta_str(&item, "name").unwrap_or_default();
                    match registry.delete(resource, ns, name, &options, dry_run).await {
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(ok(
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                ))
            }
        }
    }

    /// Serves a list from the watch cache when upstream would: no paging (or `resourceVersion=0`,
    /// which ignores the limit), and a version the cache has reached. `None`: read the store.
    async fn list_from_cache(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Option<CachedList> {
        let rv = options.resource_version.as_deref();
        if options.continue_token.is_some()
            || options.resource_version_match.as_deref() == Some("Exact")
        {
            return None;
        }
        let any_version = rv == Some("0");
        if options.limit != 0 && !any_version {
            return None; // pages need a snapshot the store keeps
        }
        match rv {
            None => {
                self.cache.fresh_revision().await?;
            }
            Some("0") => {}
            Some(n) => {
                let n: i64 = n.parse().ok()?;
                if !self.cache.wait_for(n).await {
                    return None;
                }
            }
        }
        let (items, revision) = self.cache.list(resource, namespace, options);
        Some(CachedList { items, revision })
    }

    async fn watch(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        name: Option<&str>,
        query: &Query,
        table: Option<TableWriter>,
    ) -> Result<Response<Body>, ApiError> {
        let mut list = ListOptions::parse(resource, query)?;
        if let Some(name) = name {
            // `/watch/namespaces/ns/pods/<name>` watches one object, as a name field selector.
            let selector =
                gantry_api::selector::FieldSelector::parse(&format!("metadata.name={name}"))
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            list.fields = selector;
        }
        let send_initial_events = match query.get("sendInitialEvents") {
            None | Some("") => None,
            Some(v) => Some(v == "true"),
        };
        let options = watch::WatchOptions {
            list,
            bookmarks: query.flag("allowWatchBookmarks"),
            send_initial_events,
            timeout: query
                .timeout_seconds()?
                .unwrap_or_else(watch::default_timeout),
            table,
        };
        let events = watch::start(&self.cache, resource, namespace, options).await?;
        let stream = futures::stream::unfold(events, |mut events| async move {
            events
                .recv()
                .await
                .map(|bytes| (Ok(hyper::body::Frame::data(bytes)), events))
        });
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::TRANSFER_ENCODING, "chunked")
            .body(StreamBody::new(stream.boxed()).boxed_unsync())
            .map_err(|e| ApiError::internal(e.to_string()))
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Decodes a JSON or YAML request body; other formats are a 415, malformed input a 400.
fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    match content_type(headers).as_str() {
        "application/json" | "*/*" | "" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        }),
        "application/yaml" => serde_yaml::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; yaml parse error: {e}"))
        }),
        "application/vnd.kubernetes.protobuf" => {
            gantry_api::protobuf::decode(body).map_err(|e| match e {
                gantry_api::protobuf::ProtobufError::Unsupported(_) => {
                    ApiError::unsupported_media_type_because(&e.to_string())
                }
                gantry_api::protobuf::ProtobufError::Malformed(_) => {
                    ApiError::bad_request(e.to_string())
                }
            })
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

fn patch_type(headers: &HeaderMap) -> Result<PatchType, ApiError> {
    match content_type(headers).as_str() {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// A 422 about the request's `PatchOptions`.
fn patch_options_invalid(cause: Cause) -> ApiError {
    ApiError::invalid("meta.k8s.io", "PatchOptions", "", vec![cause])
}

/// The field manager a write records: `fieldManager` (required for an apply), else the user
/// agent's product.
fn write_manager(
    verb: Verb,
    applying: bool,
    query: &Query,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let field_manager = query.get("fieldManager");
    if applying && field_manager.is_none_or(str::is_empty) {
        return Err(patch_options_invalid(Cause::required(
            "fieldManager",
            "is required for apply patch",
        )));
    }
    let options = match verb {
        Verb::Create => "CreateOptions",
        Verb::Update => "UpdateOptions",
        _ => "PatchOptions",
    };
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    crate::field_manager::manager_of(field_manager.filter(|m| !m.is_empty()), user_agent, options)
}

/// `/version`, as a 1.33 server reports itself.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "emulationMajor": "1",
        "emulationMinor": KUBERNETES_MINOR,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": gantry_api::version::git_version(),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    })
}

/// A list served from the watch cache.
struct CachedList {
    items: Vec<crate::watch_cache::Cached>,
    revision: i64,
}

impl CachedList {
    /// The JSON list, built from the items' shared bytes without re-encoding them.
    fn response(&self, resource: &Resource) -> Response<Body> {
        let head = format!(
            r#"{{"kind":"{}List","apiVersion":"{}","metadata":{{"resourceVersion":"{}"}},"items":["#,
            resource.kind,
            resource.api_version(),
            self.revision
        );
        let size = head.len() + self.items.iter().map(|i| i.item.len() + 1).sum::<usize>() + 2;
        let mut body = Vec::with_capacity(size);
        body.extend_from_slice(head.as_bytes());
        let convert = crate::convert::converts(resource);
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            if convert {
                let mut value = item.value(resource);
                if let Some(map) = value.as_object_mut() {
                    map.remove("apiVersion");
                    map.remove("kind");
                }
                body.extend_from_slice(&serde_json::to_vec(&value).unwrap_or_default());
            } else {
                body.extend_from_slice(&item.item);
            }
        }
        body.extend_from_slice(b"]}");
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)).boxed_unsync())
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
    }

    /// The list as a value (for Tables).
    fn to_value(&self, resource: &Resource) -> Value {
        let items: Vec<Value> = self.items.iter().map(|i| i.value(resource)).collect();
        json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": self.revision.to_string()},
            "items": items,
        })
    }
}
