//! A PIM REST API test server: the contract the relay relies on, as Akeneo
//! documents it (api.akeneo.com, "REST API": authentication, products by
//! uuid, product models, pagination, limits and errors), not a PIM. It counts
//! what it receives and fails on demand.
//!
//! - `POST /api/oauth/v1/token`: Basic client id and secret; JSON (or form)
//!   body with the password grant or the refresh-token grant; access tokens
//!   that expire after `token_lifetime`, refresh tokens that stay valid.
//!   A missing or wrong Basic header is 422, wrong user or password 400.
//! - Every other call needs `Authorization: Bearer <valid token>`, else 401.
//! - `GET /api/rest/v1/products-uuid/{uuid}`, `GET /api/rest/v1/product-models/{code}`:
//!   200, or 404 for an unknown one.
//! - `GET /api/rest/v1/products-uuid?search={"uuid":[{"operator":"IN","value":[…]}]}&limit=N`
//!   and the same on `product-models` by `code`: pages of at most `limit`
//!   (1–100) items, linked by `_links.next`; unknown keys are simply absent.
//! - `GET …?search={"updated":[{"operator":"BETWEEN","value":["YYYY-MM-DD hh:mm:ss",…]}]}`
//!   (also `>` and `<`; several conditions all hold; UTC) on both
//!   collections, paged by `page` or by `pagination_type=search_after`
//!   (pim-api-docs `rest-api/filter.md`, `rest-api/pagination.md`): a full
//!   page links to the next with an opaque `search_after`.
//! - `PATCH /api/rest/v1/products-uuid/{uuid}`: merges `values`, 204.
//! - More than 4 calls in flight: 429 with `Retry-After`.
//!
//! Self-contained (only crates.io dependencies) so the benchmark can include
//! it with `#[path]`.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "relay-test-client";
pub const CLIENT_SECRET: &str = "relay-test-client-secret-value";
pub const USERNAME: &str = "relay_1234";
pub const PASSWORD: &str = "relay-test-password-value";

/// Akeneo's documented limit of calls in flight per connection.
pub const CONCURRENT_LIMIT: usize = 4;

#[derive(Debug, Clone)]
pub struct Config {
    /// `expires_in` of the access tokens it issues.
    pub token_lifetime: Duration,
    /// The most items it puts on one page, whatever the `limit` asked for.
    pub page_size: usize,
    /// How long each accepted call takes.
    pub latency: Duration,
    /// `Retry-After` of its 429 answers, in seconds.
    pub retry_after_secs: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token_lifetime: Duration::from_secs(3600),
            page_size: 100,
            latency: Duration::ZERO,
            retry_after_secs: 1,
        }
    }
}

/// What the next API calls (not token calls) answer instead of their due.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Status(u16),
    /// 429 with this `Retry-After`.
    RateLimited(u64),
    /// Answers normally, but only after this long.
    Slow(Duration),
}

/// What the server received, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub password_grants: usize,
    pub refresh_grants: usize,
    /// Token requests refused (bad client, user or refresh token).
    pub token_refusals: usize,
    /// API calls answered 401 for want of a valid token.
    pub unauthorized: usize,
    /// Calls answered 429 for being over the limit in flight.
    pub over_limit: usize,
    /// 429s and 5xx answered on demand (faults).
    pub faults: usize,
    pub gets: usize,
    /// Search requests, every page counted.
    pub searches: usize,
    pub patches: usize,
    pub max_in_flight: usize,
}

/// One search request: the collection, the keys searched for, the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub collection: &'static str,
    pub values: Vec<String>,
    pub page: usize,
}

/// An entity and its JSON, rendered once (so the server's own cost stays out
/// of the benchmark).
struct Stored {
    value: Value,
    text: String,
    /// `updated`, in Unix seconds.
    updated: i64,
}

impl Stored {
    fn new(value: Value) -> Stored {
        let updated = value["updated"]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .map_or(0, |t| t.unix_timestamp());
        Stored {
            text: value.to_string(),
            value,
            updated,
        }
    }
}

/// Sorted by key: `search_after` pages in key order, as Akeneo pages in its
/// own id order.
type Store = Mutex<std::collections::BTreeMap<String, Stored>>;

#[derive(Default)]
struct State {
    config: Config,
    base: String,
    products: Store,
    models: Store,
    access_tokens: Mutex<HashMap<String, Instant>>,
    refresh_tokens: Mutex<HashSet<String>>,
    issued: AtomicUsize,
    counts: Mutex<Counts>,
    searches: Mutex<Vec<Search>>,
    faults: Mutex<VecDeque<Fault>>,
    down: AtomicBool,
    in_flight: AtomicUsize,
}

pub struct PimServer {
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for PimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A product as the REST API answers it.
pub fn product(uuid: &str) -> Value {
    json!({
        "uuid": uuid,
        "identifier": format!("sku-{}", &uuid[..8.min(uuid.len())]),
        "enabled": true,
        "family": "accessories",
        "categories": ["master_accessories"],
        "groups": [],
        "parent": null,
        "values": {"name": [{"locale": "en_US", "scope": null, "data": format!("Product {uuid}")}]},
        "associations": {},
        "created": "2024-01-01T00:00:00+00:00",
        "updated": "2024-01-02T00:00:00+00:00"
    })
}

pub fn product_model(code: &str) -> Value {
    json!({
        "code": code,
        "family": "clothing",
        "family_variant": "clothing_color_size",
        "parent": null,
        "categories": [],
        "values": {},
        "created": "2024-01-01T00:00:00+00:00",
        "updated": "2024-01-02T00:00:00+00:00"
    })
}

impl PimServer {
    /// Listens on a free local port, knowing these products and product models.
    pub async fn start(config: Config, uuids: &[&str], codes: &[&str]) -> PimServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(State {
            config,
            base: url.clone(),
            ..State::default()
        });
        for uuid in uuids {
            state
                .products
                .lock()
                .unwrap()
                .insert(uuid.to_string(), Stored::new(product(uuid)));
        }
        for code in codes {
            state
                .models
                .lock()
                .unwrap()
                .insert(code.to_string(), Stored::new(product_model(code)));
        }
        let serving = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(handle(&state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        PimServer { url, state, task }
    }

    pub fn counts(&self) -> Counts {
        self.state.counts.lock().unwrap().clone()
    }

    pub fn searches(&self) -> Vec<Search> {
        self.state.searches.lock().unwrap().clone()
    }

    pub fn product_json(&self, uuid: &str) -> Option<Value> {
        self.state
            .products
            .lock()
            .unwrap()
            .get(uuid)
            .map(|s| s.value.clone())
    }

    /// The next API calls answer these, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.faults.lock().unwrap().extend(faults.iter().copied());
    }

    /// Every API call answers 503 until `up`.
    pub fn down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
    }

    pub fn up(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }

    /// Adds (or replaces) products with these `updated` times (RFC 3339).
    pub fn put_products(&self, products: impl IntoIterator<Item = (String, String)>) {
        let mut store = self.state.products.lock().unwrap();
        for (uuid, updated) in products {
            let mut value = product(&uuid);
            // Identifiers are unique in a PIM (the stale guard keys on them too).
            value["identifier"] = Value::String(format!("sku-{uuid}"));
            value["updated"] = Value::String(updated);
            store.insert(uuid, Stored::new(value));
        }
    }

    /// Adds (or replaces) product models with these `updated` times.
    pub fn put_product_models(&self, models: impl IntoIterator<Item = (String, String)>) {
        let mut store = self.state.models.lock().unwrap();
        for (code, updated) in models {
            let mut value = product_model(&code);
            value["updated"] = Value::String(updated);
            store.insert(code, Stored::new(value));
        }
    }

    /// Every access token issued so far expires now (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for expiry in self.state.access_tokens.lock().unwrap().values_mut() {
            *expiry = now;
        }
    }
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: Value) -> Answer {
    answer_text(status, body.to_string())
}

fn answer_text(status: StatusCode, body: String) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn error(status: StatusCode, message: &str) -> Answer {
    answer(status, json!({"code": status.as_u16(), "message": message}))
}

fn too_many(retry_after: u64) -> Answer {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    response
        .headers_mut()
        .insert("retry-after", retry_after.to_string().parse().unwrap());
    response
}

/// Decrements the calls in flight when the call ends, however it ends.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(state: &State, request: Request<Incoming>) -> Answer {
    let before = state.in_flight.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight(&state.in_flight);
    if before >= CONCURRENT_LIMIT {
        state.counts.lock().unwrap().over_limit += 1;
        return too_many(state.config.retry_after_secs);
    }
    {
        let mut counts = state.counts.lock().unwrap();
        counts.max_in_flight = counts.max_in_flight.max(before + 1);
    }
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if parts.uri.path() == "/api/oauth/v1/token" {
        return token(state, &parts.headers, &body);
    }
    let bearer = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|token| {
        state
            .access_tokens
            .lock()
            .unwrap()
            .get(token)
            .is_some_and(|expiry| Instant::now() < *expiry)
    });
    if !valid {
        state.counts.lock().unwrap().unauthorized += 1;
        return error(StatusCode::UNAUTHORIZED, "The access token provided has expired.");
    }
    if state.down.load(Ordering::SeqCst) {
        state.counts.lock().unwrap().faults += 1;
        return error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    let fault = state.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Status(status)) => {
            state.counts.lock().unwrap().faults += 1;
            return error(StatusCode::from_u16(status).unwrap(), "failing on demand");
        }
        Some(Fault::RateLimited(after)) => {
            state.counts.lock().unwrap().faults += 1;
            return too_many(after);
        }
        Some(Fault::Slow(pause)) => tokio::time::sleep(pause).await,
        None => {}
    }
    api(state, &parts.method, &parts.uri, &body)
}

fn token(state: &State, headers: &hyper::HeaderMap, body: &[u8]) -> Answer {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let refuse = |status: StatusCode, body: Value| {
        state.counts.lock().unwrap().token_refusals += 1;
        answer(status, body)
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"code": 422, "message": "Parameter \"client_id\" is missing or does not match any client, or secret is invalid"}),
        );
    }
    let fields: HashMap<String, String> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
            .collect(),
        _ => reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body)))
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default(),
    };
    let field = |name: &str| fields.get(name).map(String::as_str);
    let invalid_grant = |description: &str| {
        refuse(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": description}),
        )
    };
    match field("grant_type") {
        Some("password") => {
            if field("username") != Some(USERNAME) || field("password") != Some(PASSWORD) {
                return invalid_grant("Invalid username and password combination");
            }
            state.counts.lock().unwrap().password_grants += 1;
        }
        Some("refresh_token") => {
            let known =
                field("refresh_token").is_some_and(|t| state.refresh_tokens.lock().unwrap().remove(t));
            if !known {
                return invalid_grant("Invalid refresh token");
            }
            state.counts.lock().unwrap().refresh_grants += 1;
        }
        _ => return invalid_grant("Invalid grant_type parameter or parameter missing"),
    }
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let access = format!("access-{n}");
    let refresh = format!("refresh-{n}");
    let lifetime = state.config.token_lifetime;
    state
        .access_tokens
        .lock()
        .unwrap()
        .insert(access.clone(), Instant::now() + lifetime);
    state.refresh_tokens.lock().unwrap().insert(refresh.clone());
    answer(
        StatusCode::OK,
        json!({"access_token": access, "expires_in": lifetime.as_secs(), "token_type": "bearer", "scope": null, "refresh_token": refresh}),
    )
}

fn api(state: &State, method: &hyper::Method, uri: &hyper::Uri, body: &[u8]) -> Answer {
    let path = uri.path();
    let (collection, key) = match path.strip_prefix("/api/rest/v1/") {
        Some(rest) => match rest.split_once('/') {
            Some((collection, key)) => (collection, Some(key)),
            None => (rest, None),
        },
        None => return error(StatusCode::NOT_FOUND, "No route found"),
    };
    let (store, key_name, collection): (&Store, &str, &'static str) = match collection {
        "products-uuid" => (&state.products, "uuid", "products-uuid"),
        "product-models" => (&state.models, "code", "product-models"),
        _ => return error(StatusCode::NOT_FOUND, "No route found"),
    };
    match (method.as_str(), key) {
        ("GET", Some(key)) => {
            state.counts.lock().unwrap().gets += 1;
            let key = percent_decode(key);
            match store.lock().unwrap().get(&key) {
                Some(entity) => answer_text(StatusCode::OK, entity.text.clone()),
                None => error(
                    StatusCode::NOT_FOUND,
                    &format!("Resource \"{key}\" does not exist or you do not have permission to access it."),
                ),
            }
        }
        ("PATCH", Some(key)) if collection == "products-uuid" => {
            state.counts.lock().unwrap().patches += 1;
            let key = percent_decode(key);
            let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(body) else {
                return error(StatusCode::BAD_REQUEST, "Invalid json message received");
            };
            let mut products = store.lock().unwrap();
            let created = !products.contains_key(&key);
            let stored = products
                .entry(key.clone())
                .or_insert_with(|| Stored::new(product(&key)));
            for (name, value) in changes {
                match (stored.value.get_mut(&name), value) {
                    (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
                    (_, value) => {
                        stored.value[name.as_str()] = value;
                    }
                }
            }
            stored.text = stored.value.to_string();
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::NO_CONTENT
            };
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = status;
            response
        }
        ("GET", None) => search(state, store, key_name, collection, uri),
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    }
}

fn search(
    state: &State,
    store: &Store,
    key_name: &str,
    collection: &'static str,
    uri: &hyper::Uri,
) -> Answer {
    let url = reqwest::Url::parse(&format!("{}{}", state.base, uri)).expect("request URL");
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot request more than 100 items.",
        );
    }
    if let Some(Ok(search)) = query.get("search").map(|s| serde_json::from_str::<Value>(s))
        && search.get("updated").is_some()
    {
        return search_updated(state, store, collection, &url, &query, &search["updated"], limit);
    }
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let values: Vec<String> = match query.get("search").map(|s| serde_json::from_str::<Value>(s)) {
        Some(Ok(search)) => search[key_name][0]["value"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        _ => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Search query parameter should be valid JSON.",
            );
        }
    };
    state.counts.lock().unwrap().searches += 1;
    state.searches.lock().unwrap().push(Search {
        collection,
        values: values.clone(),
        page,
    });
    let store = store.lock().unwrap();
    let wanted: HashSet<&str> = values.iter().map(String::as_str).collect();
    let mut keys: Vec<&String> = store.keys().filter(|k| wanted.contains(k.as_str())).collect();
    keys.sort();
    let size = limit.min(state.config.page_size);
    // Each item is the stored JSON with its `_links` first, as Akeneo lists them.
    let items: Vec<String> = keys
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|key| {
            let links = json!({"self": {"href": format!("{}/api/rest/v1/{collection}/{key}", state.base)}});
            format!(r#"{{"_links":{links},{}"#, &store[*key].text[1..])
        })
        .collect();
    let page_url = |page: usize| {
        let mut next = url.clone();
        next.query_pairs_mut()
            .clear()
            .append_pair("search", &query["search"])
            .append_pair("limit", &limit.to_string())
            .append_pair("page", &page.to_string());
        json!({"href": next.as_str()})
    };
    let mut links = json!({"self": page_url(page), "first": page_url(1)});
    if keys.len() > page * size {
        links["next"] = page_url(page + 1);
    }
    answer_text(
        StatusCode::OK,
        format!(
            r#"{{"_links":{links},"current_page":{page},"_embedded":{{"items":[{}]}}}}"#,
            items.join(",")
        ),
    )
}

/// Unix seconds of the filter's `YYYY-MM-DD hh:mm:ss` (UTC).
fn filter_time(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// The `updated` conditions as an inclusive range of seconds; `None` when
/// one is not understood (the PIM answers 422).
fn updated_range(conditions: &Value) -> Option<(i64, i64)> {
    let mut range = (i64::MIN, i64::MAX);
    for condition in conditions.as_array()? {
        let value = &condition["value"];
        match condition["operator"].as_str()? {
            "BETWEEN" => {
                range.0 = range.0.max(filter_time(&value[0])?);
                range.1 = range.1.min(filter_time(&value[1])?);
            }
            ">" => range.0 = range.0.max(filter_time(value)? + 1),
            "<" => range.1 = range.1.min(filter_time(value)? - 1),
            _ => return None,
        }
    }
    Some(range)
}

fn search_updated(
    state: &State,
    store: &Store,
    collection: &'static str,
    url: &reqwest::Url,
    query: &HashMap<String, String>,
    conditions: &Value,
    limit: usize,
) -> Answer {
    let Some((from, to)) = updated_range(conditions) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Property \"updated\" expects a valid date.",
        );
    };
    state.counts.lock().unwrap().searches += 1;
    let after = query.get("search_after").cloned();
    state.searches.lock().unwrap().push(Search {
        collection,
        values: after.clone().into_iter().collect(),
        page: 0,
    });
    let size = limit.min(state.config.page_size);
    let store = store.lock().unwrap();
    let start = match &after {
        Some(key) => std::ops::Bound::Excluded(key.clone()),
        None => std::ops::Bound::Unbounded,
    };
    let page: Vec<(&String, &Stored)> = store
        .range((start, std::ops::Bound::Unbounded))
        .filter(|(_, stored)| (from..=to).contains(&stored.updated))
        .take(size)
        .collect();
    let items: Vec<String> = page
        .iter()
        .map(|(key, stored)| {
            let links = json!({"self": {"href": format!("{}/api/rest/v1/{collection}/{key}", state.base)}});
            format!(r#"{{"_links":{links},{}"#, &stored.text[1..])
        })
        .collect();
    let link = |after: Option<&str>| {
        let mut next = url.clone();
        next.query_pairs_mut()
            .clear()
            .append_pair("search", &query["search"])
            .append_pair("pagination_type", "search_after")
            .append_pair("limit", &limit.to_string());
        if let Some(after) = after {
            next.query_pairs_mut().append_pair("search_after", after);
        }
        json!({"href": next.as_str()})
    };
    let mut links = json!({"self": link(after.as_deref()), "first": link(None)});
    if page.len() == size
        && let Some((last, _)) = page.last()
    {
        links["next"] = link(Some(last));
    }
    answer_text(
        StatusCode::OK,
        format!(
            r#"{{"_links":{links},"_embedded":{{"items":[{}]}}}}"#,
            items.join(",")
        ),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
