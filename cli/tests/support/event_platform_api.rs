//! An Event Platform management API test server: the contract the relay
//! relies on, as Akeneo documents it (EVENT-PLATFORM-API.md; api.akeneo.com,
//! "Event Platform"), not the platform. It also plays the PIM's token
//! endpoint, since every call carries a PIM access token.
//!
//! - `POST /api/oauth/v1/token`: Basic client id and secret, password grant.
//! - Under `/api/v1`, every call needs `X-PIM-URL` (this server's URL),
//!   `X-PIM-TOKEN` (a token it issued) and `X-PIM-CLIENT-ID`, else 401.
//! - Subscribers: `GET`, `POST` (a `technical_email`; a webhook secret of 16
//!   to 256 characters, never returned), `PATCH /subscribers/{id}`.
//! - Subscriptions under a subscriber: `GET` (list, one), `POST` (source
//!   `pim`, subject the PIM URL, type `https`, events, a primary secret),
//!   `PATCH` (a merge patch: `null` removes), `DELETE`, `POST …/suspend`,
//!   `POST …/resume`. Secrets are answered `***redacted***`.
//! - `GET /logs`: `subscription_id`, `log_type`, `from` filters, pages of 2
//!   linked by `_links.next`.
//! - Playing Akeneo: after each change to a subscription, it delivers a test
//!   event to its URL signed as Akeneo would (primary and secondary), and
//!   once with each of its secrets alone, and records the answers. With
//!   [`EventPlatformApi::keep_delivering`], it also delivers one event to
//!   every active subscription at a steady pace, as a live PIM does.
//! - Faults: [`EventPlatformApi::refuse`] answers the next calls of a kind
//!   with a status of the test's choosing (before changing anything).
//!
//! One deviation: a subscription URL may be `http://127.0.0.1:…` (the local
//! `serve`); Akeneo requires HTTPS.

#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use shared::core::signature::event_platform;

pub const CLIENT_ID: &str = "ep-test-client";
pub const CLIENT_SECRET: &str = "ep-test-client-secret";
pub const USERNAME: &str = "relay_ep";
pub const PASSWORD: &str = "ep-test-password";

/// One call the server answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
}

/// One delivery made while playing Akeneo.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The call after which it was made (`PATCH /api/v1/...`).
    pub after: String,
    /// `both`, or the secret it was signed with alone.
    pub signed_with: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    base: String,
    tokens: Vec<String>,
    subscribers: Vec<Value>,
    /// Webhook secrets by subscriber id (never answered).
    webhook_secrets: Map<String, Value>,
    /// (subscriber id, subscription with its real secrets).
    subscriptions: Vec<(String, Value)>,
    logs: Vec<Value>,
    calls: Vec<Call>,
    deliveries: Vec<Delivery>,
    faults: Vec<Fault>,
    next_id: u64,
}

/// Calls of `method` whose path ends with `path_suffix` are answered `status`,
/// `times` more times.
struct Fault {
    method: Method,
    path_suffix: String,
    status: StatusCode,
    times: usize,
}

/// [`Delivery::after`] of the steady deliveries.
pub const STEADY: &str = "steady";

pub struct EventPlatformApi {
    pub base: String,
    state: Arc<Mutex<State>>,
    runtime: tokio::runtime::Runtime,
}

impl EventPlatformApi {
    pub fn start() -> EventPlatformApi {
        // Its deliveries go through reqwest, built without a TLS provider: ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State {
            base: base.clone(),
            ..State::default()
        }));
        let served = Arc::clone(&state);
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        EventPlatformApi { base, state, runtime }
    }

    /// The management API's base URL.
    pub fn management_url(&self) -> String {
        format!("{}/api/v1", self.base)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("lock").calls.clone()
    }

    /// The calls that changed something (not GET).
    pub fn changes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method != "GET").collect()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().expect("lock").deliveries.clone()
    }

    pub fn subscribers(&self) -> Vec<Value> {
        self.state.lock().expect("lock").subscribers.clone()
    }

    pub fn webhook_secret(&self, subscriber: &str) -> Option<String> {
        let state = self.state.lock().expect("lock");
        state
            .webhook_secrets
            .get(subscriber)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The subscriptions with their real secrets.
    pub fn subscriptions(&self) -> Vec<Value> {
        let state = self.state.lock().expect("lock");
        state.subscriptions.iter().map(|(_, s)| s.clone()).collect()
    }

    pub fn add_log(&self, entry: Value) {
        self.state.lock().expect("lock").logs.push(entry);
    }

    /// Answers the next `times` calls of `method` to a path ending with
    /// `path_suffix` with `status`, changing nothing.
    pub fn refuse(&self, method: Method, path_suffix: &str, status: StatusCode, times: usize) {
        self.state.lock().expect("lock").faults.push(Fault {
            method,
            path_suffix: path_suffix.to_owned(),
            status,
            times,
        });
    }

    /// From now on, delivers one event signed as Akeneo signs it to every
    /// active subscription each `every`, recording each answer ([`STEADY`]).
    pub fn keep_delivering(&self, every: Duration) {
        let state = Arc::clone(&self.state);
        self.runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let count = state.lock().expect("lock").subscriptions.len();
                for index in 0..count {
                    deliver_once(&state, index).await;
                }
            }
        });
    }
}

/// Answers the call with a fault set for it, if any.
fn fault_for(state: &Arc<Mutex<State>>, method: &Method, path: &str) -> Option<StatusCode> {
    let mut state = state.lock().expect("lock");
    let fault = state
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == *method && path.ends_with(&f.path_suffix))?;
    fault.times -= 1;
    Some(fault.status)
}

async fn answer(state: &Arc<Mutex<State>>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), percent_decode(v)))
                .collect()
        })
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    if path == "/api/oauth/v1/token" {
        return token(state, &header("authorization"), &body);
    }
    let Some(route) = path.strip_prefix("/api/v1/") else {
        return reply(StatusCode::NOT_FOUND, json!({"message": "not found"}));
    };
    {
        let state = state.lock().expect("lock");
        let token = header("x-pim-token");
        if header("x-pim-url") != state.base
            || header("x-pim-client-id") != CLIENT_ID
            || !state.tokens.contains(&token)
        {
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({"message": "missing or invalid X-PIM-* headers"}),
            );
        }
    }
    state.lock().expect("lock").calls.push(Call {
        method: parts.method.to_string(),
        path: path.clone(),
        body: body.clone(),
    });
    if let Some(status) = fault_for(state, &parts.method, &path) {
        return reply(status, json!({"message": "refused by the test (fault injected)"}));
    }
    let segments: Vec<&str> = route.split('/').collect();
    let (status, answer, deliver_to) = {
        let mut state = state.lock().expect("lock");
        route_call(&mut state, &parts.method, &segments, &query, body)
    };
    if let Some(index) = deliver_to {
        play_akeneo(state, index, &format!("{} {path}", parts.method)).await;
    }
    reply(status, answer)
}

type Routed = (StatusCode, Value, Option<usize>);

fn route_call(
    state: &mut State,
    method: &Method,
    segments: &[&str],
    query: &[(String, String)],
    body: Value,
) -> Routed {
    let not_found = (StatusCode::NOT_FOUND, json!({"message": "not found"}), None);
    match (method, segments) {
        (&Method::GET, ["subscribers"]) => (StatusCode::OK, Value::Array(state.subscribers.clone()), None),
        (&Method::POST, ["subscribers"]) => {
            let Some(email) = body.pointer("/contact/technical_email").and_then(Value::as_str) else {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "contact.technical_email is required"}),
                    None,
                );
            };
            let id = new_id(state, "subscriber");
            let mut contact = json!({"technical_email": email, "notification_channels": ["email"]});
            if let Err(message) = apply_contact(state, &id, &mut contact, &body["contact"]) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": message}),
                    None,
                );
            }
            let subscriber = json!({"id": id, "name": body["name"], "subject": state.base, "status": "active", "contact": contact});
            state.subscribers.push(subscriber.clone());
            (StatusCode::CREATED, subscriber, None)
        }
        (&Method::PATCH, ["subscribers", id]) => {
            let Some(index) = state.subscribers.iter().position(|s| s["id"] == *id) else {
                return not_found;
            };
            let mut contact = state.subscribers[index]["contact"].clone();
            if let Err(message) = apply_contact(state, id, &mut contact, &body["contact"]) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": message}),
                    None,
                );
            }
            state.subscribers[index]["contact"] = contact;
            (StatusCode::OK, state.subscribers[index].clone(), None)
        }
        (_, ["subscribers", subscriber, "subscriptions", rest @ ..]) => {
            if !state.subscribers.iter().any(|s| s["id"] == *subscriber) {
                return not_found;
            }
            subscription_call(state, method, subscriber, rest, body)
        }
        (&Method::GET, ["logs"]) => logs(state, query),
        _ => not_found,
    }
}

fn subscription_call(
    state: &mut State,
    method: &Method,
    subscriber: &str,
    rest: &[&str],
    body: Value,
) -> Routed {
    let not_found = (StatusCode::NOT_FOUND, json!({"message": "not found"}), None);
    let find = |state: &State, id: &str| {
        state
            .subscriptions
            .iter()
            .position(|(owner, s)| owner == subscriber && s["id"] == id)
    };
    match (method, rest) {
        (&Method::GET, []) => {
            let all: Vec<Value> = state
                .subscriptions
                .iter()
                .filter(|(owner, _)| owner == subscriber)
                .map(|(_, s)| redacted(s))
                .collect();
            (StatusCode::OK, json!({"items": all}), None)
        }
        (&Method::POST, []) => {
            let problems = [
                (body["source"] != "pim", "source must be pim"),
                (
                    body["subject"] != state.base.as_str(),
                    "subject must be the PIM URL",
                ),
                (body["type"] != "https", "type must be https"),
                (
                    body["events"].as_array().is_none_or(Vec::is_empty),
                    "events are required",
                ),
                (
                    body.pointer("/config/url").and_then(Value::as_str).is_none(),
                    "config.url is required",
                ),
                (
                    body.pointer("/config/secret/primary")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty),
                    "config.secret.primary is required",
                ),
            ];
            if let Some((_, message)) = problems.iter().find(|(bad, _)| *bad) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": message}),
                    None,
                );
            }
            let mut subscription = body;
            subscription["id"] = json!(new_id(state, "subscription"));
            subscription["status"] = json!("active");
            subscription["subscriber_id"] = json!(subscriber);
            state
                .subscriptions
                .push((subscriber.to_owned(), subscription.clone()));
            (
                StatusCode::CREATED,
                redacted(&subscription),
                Some(state.subscriptions.len() - 1),
            )
        }
        (&Method::GET, [id]) => match find(state, id) {
            Some(index) => (StatusCode::OK, redacted(&state.subscriptions[index].1), None),
            None => not_found,
        },
        (&Method::PATCH, [id]) => {
            let Some(index) = find(state, id) else {
                return not_found;
            };
            merge(&mut state.subscriptions[index].1, &body);
            (
                StatusCode::OK,
                redacted(&state.subscriptions[index].1),
                Some(index),
            )
        }
        (&Method::DELETE, [id]) => {
            let Some(index) = find(state, id) else {
                return not_found;
            };
            state.subscriptions.remove(index);
            (StatusCode::NO_CONTENT, Value::Null, None)
        }
        (&Method::POST, [id, action @ ("suspend" | "resume")]) => {
            let Some(index) = find(state, id) else {
                return not_found;
            };
            let (status, operation) = if *action == "suspend" {
                ("suspended", "subscription_suspended_by_the_user")
            } else {
                ("active", "subscription_resumed_by_the_user")
            };
            state.subscriptions[index].1["status"] = json!(status);
            let log = json!({"log_id": new_id(state, "log"), "log_type": "action", "timestamp": "2026-12-02T10:00:00Z",
                "operation": operation, "subscriber_id": subscriber, "subscription_id": id});
            state.logs.push(log);
            (StatusCode::OK, redacted(&state.subscriptions[index].1), None)
        }
        _ => not_found,
    }
}

fn apply_contact(state: &mut State, id: &str, contact: &mut Value, given: &Value) -> Result<(), String> {
    let Some(given) = given.as_object() else {
        return Ok(());
    };
    for (key, value) in given {
        if key == "notification_webhook_secret" {
            let length = value.as_str().map_or(0, str::len);
            if !(16..=256).contains(&length) {
                return Err("notification_webhook_secret must be 16 to 256 characters".into());
            }
            state.webhook_secrets.insert(id.to_owned(), value.clone());
        } else {
            contact[key] = value.clone();
        }
    }
    Ok(())
}

/// RFC 7396: objects merge, `null` removes.
fn merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    for (key, value) in patch {
        if value.is_null() {
            if let Some(object) = target.as_object_mut() {
                object.remove(key);
            }
        } else {
            merge(&mut target[key], value);
        }
    }
}

fn redacted(subscription: &Value) -> Value {
    let mut shown = subscription.clone();
    if let Some(secret) = shown.pointer_mut("/config/secret").and_then(Value::as_object_mut) {
        for value in secret.values_mut() {
            *value = json!("***redacted***");
        }
    }
    shown
}

fn logs(state: &State, query: &[(String, String)]) -> Routed {
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let matching: Vec<Value> = state
        .logs
        .iter()
        .filter(|l| get("subscription_id").is_none_or(|s| l["subscription_id"] == s))
        .filter(|l| get("log_type").is_none_or(|t| l["log_type"] == t))
        .filter(|l| get("from").is_none_or(|f| l["timestamp"].as_str().unwrap_or_default() >= f))
        .cloned()
        .collect();
    let page: usize = get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let items: Vec<Value> = matching.iter().skip(page * 2).take(2).cloned().collect();
    let mut answer = json!({"items": items});
    if matching.len() > (page + 1) * 2 {
        let mut next: Vec<String> = query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A").replace('+', "%2B")))
            .collect();
        next.push(format!("page={}", page + 1));
        answer["_links"] =
            json!({"next": {"href": format!("{}/api/v1/logs?{}", state.base, next.join("&"))}});
    }
    (StatusCode::OK, answer, None)
}

fn token(state: &Arc<Mutex<State>>, authorization: &str, body: &Value) -> Response<Full<Bytes>> {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if authorization != expected {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "client_id missing or does not match"}),
        );
    }
    if body["grant_type"] != "password" || body["username"] != USERNAME || body["password"] != PASSWORD {
        return reply(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    }
    let mut state = state.lock().expect("lock");
    let token = new_id(&mut state, "token");
    state.tokens.push(token.clone());
    reply(
        StatusCode::OK,
        json!({"access_token": token, "expires_in": 3600, "token_type": "bearer"}),
    )
}

/// An active subscription's URL and (primary, secondary) secrets.
fn delivery_target(state: &Arc<Mutex<State>>, index: usize) -> Option<(String, String, Option<String>)> {
    let subscription = state.lock().expect("lock").subscriptions.get(index)?.1.clone();
    if subscription["status"] != "active" {
        return None;
    }
    let url = subscription
        .pointer("/config/url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let secret = |name: &str| {
        subscription
            .pointer(&format!("/config/secret/{name}"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some((url, secret("primary")?, secret("secondary")))
}

/// Delivers a test event to the subscription's URL as Akeneo would, then
/// signed with each of its secrets alone.
async fn play_akeneo(state: &Arc<Mutex<State>>, index: usize, after: &str) {
    let Some((url, primary, secondary)) = delivery_target(state, index) else {
        return;
    };
    let mut signings = vec![("both".to_owned(), primary.clone(), secondary.clone())];
    signings.push((primary.clone(), primary.clone(), None));
    if let Some(secondary) = &secondary {
        signings.push((secondary.clone(), secondary.clone(), None));
    }
    deliver(state, &url, signings, after).await;
}

/// One event to the subscription, signed as Akeneo signs it (both secrets).
async fn deliver_once(state: &Arc<Mutex<State>>, index: usize) {
    let Some((url, primary, secondary)) = delivery_target(state, index) else {
        return;
    };
    deliver(state, &url, vec![("both".to_owned(), primary, secondary)], STEADY).await;
}

/// Delivers one event per (label, primary, secondary) signing to `url`.
async fn deliver(
    state: &Arc<Mutex<State>>,
    url: &str,
    signings: Vec<(String, String, Option<String>)>,
    after: &str,
) {
    let client = reqwest::Client::new();
    for (label, primary, secondary) in signings {
        let id = {
            let mut state = state.lock().expect("lock");
            new_id(&mut state, "event")
        };
        let body = json!({"specversion": "1.0", "id": id, "source": "pim", "type": "com.akeneo.pim.v1.product.updated",
            "subject": "https://pim", "time": "2026-12-02T10:00:00Z", "data": {"product": {"uuid": "7ba8b4f3-2f4c-4a5e-9f4b-3f1a2b9c8d7e"}}})
        .to_string();
        let mut request = client.post(url).body(body.clone());
        for (name, value) in event_platform::headers(&primary, secondary.as_deref(), body.as_bytes()) {
            request = request.header(name, value);
        }
        let status = request.send().await.map_or(0, |r| r.status().as_u16());
        state.lock().expect("lock").deliveries.push(Delivery {
            after: after.to_owned(),
            signed_with: label,
            status,
        });
    }
}

fn new_id(state: &mut State, kind: &str) -> String {
    state.next_id += 1;
    format!("{kind}-{:04}", state.next_id)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap_or_default()
}
