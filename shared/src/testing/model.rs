//! Independent models of `PROTOCOLS.md` and the invariants the relay keeps,
//! shared by the property tests (stable, bounded, in the test suite) and the
//! fuzz targets (`fuzz/`, nightly, for as long as one likes). Each `check_*`
//! panics with the broken invariant; "no panic" alone proves nothing here.
//!
//! The models are written from the protocol text, not from the relay's code:
//! signatures as hex strings compared after trimming and lowercasing, bodies
//! through `serde_json::Value` (whose maps keep a repeated key's last value,
//! the relay's documented rule).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use ring::hmac;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::PimEvent;
use crate::core::body::split_events;
use crate::core::message::sqs_text::is_sqs_text;
use crate::core::message::{OutboundMessage, read_envelope};
use crate::core::processor::{Disposition, Processor, Settings};
use crate::core::protocol::Protocol;
use crate::core::receiver::{Receiver, RouteSecrets, SecretStore};
use crate::core::signature::{Secrets, event_platform, events_api};
use crate::ports::handler::{EventHandler, Outcome};
use crate::ports::queue::ReceivedMessage;
use crate::testing::{Behaviour, MemoryQueue, MemoryVisibility};

/// The clock of every modelled request, and the Events API tolerance.
pub const NOW: u64 = 1_700_000_000;
/// The Events API tolerance of every modelled receiver, in seconds.
pub const TOLERANCE_SECS: u64 = 300;
/// The secrets the modelled relay holds per route.
pub const EVENTS_API_SECRETS: [&str; 2] = ["ea-secret-one", "ea-secret-two"];
/// The secrets the modelled relay holds for the Event Platform route.
pub const EVENT_PLATFORM_SECRETS: [&str; 2] = ["ep-secret-one", "ep-secret-two"];

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    hex::encode(hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        message,
    ))
}

fn header_matches(value: &[u8], expected_hex: &str) -> bool {
    std::str::from_utf8(value).is_ok_and(|text| text.trim().to_ascii_lowercase() == expected_hex)
}

/// Events API, from section 1: a decimal Unix time within the tolerance either
/// way, and the signature over `<timestamp>.<body>` with any secret.
pub fn events_api_signature_ok(
    secrets: &[&str],
    timestamp: Option<&[u8]>,
    signature: Option<&[u8]>,
    body: &[u8],
    now: u64,
    tolerance: u64,
) -> bool {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    let Some(sent_at) = std::str::from_utf8(timestamp)
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    let signed = [timestamp, b".", body].concat();
    let signed_by_one = secrets
        .iter()
        .any(|s| header_matches(signature, &hmac_hex(s, &signed)));
    signed_by_one && (i128::from(now) - i128::from(sent_at)).unsigned_abs() <= u128::from(tolerance)
}

/// Event Platform, from section 2: either header matching any secret is
/// enough; an algorithm, when named, is HmacSHA256.
pub fn event_platform_signature_ok(
    secrets: &[&str],
    primary: Option<&[u8]>,
    secondary: Option<&[u8]>,
    algorithm: Option<&[u8]>,
    body: &[u8],
) -> bool {
    if algorithm.is_some_and(|a| !a.eq_ignore_ascii_case(b"HmacSHA256")) {
        return false;
    }
    secrets.iter().any(|secret| {
        let expected = hmac_hex(secret, body);
        [primary, secondary]
            .into_iter()
            .flatten()
            .any(|value| header_matches(value, &expected))
    })
}

/// What a signed body is, per protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyModel {
    /// Not JSON (or not UTF-8).
    NotJson,
    /// JSON, but not the protocol's shape.
    NotEnvelope,
    /// Valid, with these events (parsed), in order.
    Events(Vec<Value>),
    /// Valid JSON with a number beyond `f64` (`1e999`), which `Value` cannot
    /// hold: the shape is not modelled, only that it is not "not JSON".
    Unmodelled,
}

/// What `body` is for `protocol`, read independently of the receiver's
/// splitter, to compare with it.
pub fn body_model(protocol: Protocol, body: &[u8]) -> BodyModel {
    let Ok(text) = std::str::from_utf8(body) else {
        return BodyModel::NotJson;
    };
    if serde_json::from_str::<IgnoredAny>(text).is_err() {
        return BodyModel::NotJson;
    }
    let Some(value) = value_of(text) else {
        return BodyModel::Unmodelled;
    };
    let events = match (protocol, value) {
        (Protocol::EventsApi, Value::Object(mut envelope)) => match envelope.remove("events") {
            Some(Value::Array(events)) => events,
            _ => return BodyModel::NotEnvelope,
        },
        (Protocol::EventsApi, _) => return BodyModel::NotEnvelope,
        (Protocol::EventPlatform, Value::Array(events)) => events,
        (Protocol::EventPlatform, event) => vec![event],
        // No request carries the relay's own catch-up events.
        (Protocol::CatchUp, _) => return BodyModel::NotEnvelope,
    };
    if events.iter().all(Value::is_object) {
        BodyModel::Events(events)
    } else {
        BodyModel::NotEnvelope
    }
}

/// JSON text as a `Value`, a lone surrogate escape (valid JSON that a Rust
/// string cannot hold) read as U+FFFD.
pub fn value_of(text: &str) -> Option<Value> {
    serde_json::from_str::<IgnoredAny>(text).ok()?;
    serde_json::from_str(&without_lone_surrogates(text)).ok()
}

fn without_lone_surrogates(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'u')
            && let Some(unit) = hex_at(i + 2)
        {
            let low = (bytes.get(i + 6..i + 8) == Some(b"\\u".as_slice()))
                .then(|| hex_at(i + 8))
                .flatten();
            match (unit, low) {
                (0xD800..=0xDBFF, Some(0xDC00..=0xDFFF)) => {
                    out.push_str(&text[i..i + 12]);
                    i += 12;
                }
                (0xD800..=0xDFFF, _) => {
                    out.push_str("\\ufffd");
                    i += 6;
                }
                _ => {
                    out.push_str(&text[i..i + 6]);
                    i += 6;
                }
            }
            continue;
        }
        let step = if bytes[i] == b'\\' { 2 } else { 1 };
        let end = (i + step).min(bytes.len());
        let end = (end..=bytes.len())
            .find(|&e| text.is_char_boundary(e))
            .unwrap_or(bytes.len());
        out.push_str(&text[i..end]);
        i = end;
    }
    out
}

/// Splitting: refused exactly when the model refuses, and every event a
/// byte-exact slice of the body, in order, equal to the model's event.
pub fn check_split(protocol: Protocol, body: &[u8]) {
    let model = body_model(protocol, body);
    match (split_events(protocol, body), &model) {
        (Ok(events), BodyModel::Events(expected)) => {
            assert_eq!(events.len(), expected.len(), "event count");
            for (event, expected) in events.iter().zip(expected) {
                assert_slice_of(event.raw, body);
                let parsed = value_of(event.raw).expect("an event is JSON");
                assert_eq!(&parsed, expected, "event differs from the model");
            }
        }
        (Ok(events), BodyModel::Unmodelled) => events.iter().for_each(|e| assert_slice_of(e.raw, body)),
        (Err(crate::core::body::BodyError::NotJson), BodyModel::NotJson) => {}
        (
            Err(crate::core::body::BodyError::NotEnvelope(_)),
            BodyModel::NotEnvelope | BodyModel::Unmodelled,
        ) => {}
        (outcome, model) => panic!("split {outcome:?} but the model says {model:?}"),
    }
}

fn assert_slice_of(raw: &str, body: &[u8]) {
    let start = (raw.as_ptr() as usize).checked_sub(body.as_ptr() as usize);
    let inside = start.is_some_and(|s| s + raw.len() <= body.len());
    assert!(inside, "an event is not a slice of the body");
}

/// The queue message contract and the processor: every event of a valid body
/// becomes a message SQS accepts, reads back as the same bytes and id, and
/// reaches the business logic byte for byte.
pub fn check_message_and_processor(protocol: Protocol, body: &[u8]) {
    let Ok(events) = split_events(protocol, body) else {
        return;
    };
    let mut records = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let message = OutboundMessage::build(protocol, event.raw, &event.fields, "2026-01-01T00:00:00.000Z");
        assert!(is_sqs_text(&message.body), "a body SQS refuses");
        assert!(
            message.attributes.iter().all(|(_, v)| is_sqs_text(v)),
            "an attribute SQS refuses"
        );
        let envelope = read_envelope(&message.body).expect("the writer's envelope reads back");
        assert_eq!(
            envelope.event.get(),
            event.raw,
            "the event's bytes changed in the envelope"
        );
        assert_eq!(
            envelope.id, event.fields.id,
            "the lifted id changed in the envelope"
        );
        let attributes = message
            .attributes
            .iter()
            .map(|(n, v)| ((*n).to_owned(), Some(v.clone())));
        records.push(ReceivedMessage::received(
            Some(format!("m-{i}")),
            Some(format!("r-{i}")),
            Some(message.body),
            None,
            attributes,
        ));
    }
    let handler = Recording::default();
    let processor = Processor::new(
        handler,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    );
    let dispositions = runtime().block_on(processor.process_batch(&records));
    assert!(
        dispositions.iter().all(|d| *d == Disposition::Done),
        "{dispositions:?}"
    );
    let mut seen = processor.handler().seen();
    let mut sent: Vec<String> = events.iter().map(|e| e.raw.to_owned()).collect();
    seen.sort();
    sent.sort();
    assert_eq!(
        seen, sent,
        "the business logic did not see the events byte for byte"
    );
}

/// Records each event's raw bytes.
#[derive(Default)]
pub struct Recording {
    seen: std::sync::Mutex<Vec<String>>,
}

impl Recording {
    /// The raw bytes of every event handled, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

impl EventHandler for Recording {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        self.seen.lock().expect("lock").push(event.raw.get().to_owned());
        Outcome::Done
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
}

/// One request to the receiver, as a fuzzer or a property test makes it.
#[derive(Debug, Clone)]
pub struct RequestCase {
    /// The HTTP method.
    pub method: Method,
    /// The route it is sent to.
    pub protocol: Protocol,
    /// The body.
    pub body: Vec<u8>,
    /// Header name and raw value, as sent.
    pub headers: Vec<(&'static str, Vec<u8>)>,
}

impl RequestCase {
    /// A POST signed as Akeneo signs it (with the first secret; the Events API
    /// `skew` seconds before [`NOW`]).
    pub fn signed(protocol: Protocol, body: Vec<u8>, skew: i64) -> RequestCase {
        let headers = match protocol {
            Protocol::EventsApi => {
                let at = u64::try_from(i64::try_from(NOW).unwrap_or(0) - skew).unwrap_or(0);
                events_api::headers(EVENTS_API_SECRETS[0], at, &body).to_vec()
            }
            Protocol::EventPlatform => event_platform::headers(EVENT_PLATFORM_SECRETS[0], None, &body),
            Protocol::CatchUp => Vec::new(),
        };
        RequestCase {
            method: Method::POST,
            protocol,
            headers: headers.into_iter().map(|(n, v)| (n, v.into_bytes())).collect(),
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// `PROTOCOLS.md` section 3 for this request, with a queue that takes
    /// everything: the status, and the events that must be queued with a 200.
    pub fn expected(&self) -> (StatusCode, Vec<Value>) {
        if self.method == Method::GET || self.method == Method::HEAD {
            return (StatusCode::OK, vec![]);
        }
        if self.method != Method::POST {
            return (StatusCode::METHOD_NOT_ALLOWED, vec![]);
        }
        let signed = match self.protocol {
            Protocol::EventsApi => events_api_signature_ok(
                &EVENTS_API_SECRETS,
                self.header(events_api::TIMESTAMP_HEADER),
                self.header(events_api::SIGNATURE_HEADER),
                &self.body,
                NOW,
                TOLERANCE_SECS,
            ),
            Protocol::EventPlatform => event_platform_signature_ok(
                &EVENT_PLATFORM_SECRETS,
                self.header(event_platform::PRIMARY_HEADER),
                self.header(event_platform::SECONDARY_HEADER),
                self.header(event_platform::ALGORITHM_HEADER),
                &self.body,
            ),
            Protocol::CatchUp => false,
        };
        if !signed {
            return (StatusCode::UNAUTHORIZED, vec![]);
        }
        if self.protocol == Protocol::EventsApi && self.body.is_empty() {
            return (StatusCode::OK, vec![]);
        }
        match body_model(self.protocol, &self.body) {
            BodyModel::NotJson => (StatusCode::BAD_REQUEST, vec![]),
            BodyModel::NotEnvelope => (StatusCode::BAD_REQUEST, vec![]),
            BodyModel::Events(events) => (StatusCode::OK, events),
            BodyModel::Unmodelled => (StatusCode::OK, vec![]),
        }
    }
}

/// The receiver's whole handling: its status equals the model's (so a 2xx only
/// when the model's signature check passes), and a 200 only when every event
/// is on the queue, byte for byte and in order. Bodies are kept under SQS's
/// message size by the callers (large events have their own tests).
pub fn check_request(case: &RequestCase) {
    let secrets = RouteSecrets {
        events_api: Secrets::new(EVENTS_API_SECRETS),
        event_platform: Secrets::new(EVENT_PLATFORM_SECRETS),
        ..RouteSecrets::default()
    };
    let receiver = Receiver::new(
        MemoryQueue::new(Behaviour::Accept),
        SecretStore::fixed(secrets),
        TOLERANCE_SECS,
    );
    let mut headers = HeaderMap::new();
    for (name, value) in &case.headers {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    // What `HeaderMap` refused (a newline, say) the model must not see either.
    let sent = RequestCase {
        headers: case
            .headers
            .iter()
            .filter(|(_, v)| HeaderValue::from_bytes(v).is_ok())
            .cloned()
            .collect(),
        ..case.clone()
    };
    let path = match case.protocol {
        Protocol::EventsApi => "/events-api",
        Protocol::EventPlatform | Protocol::CatchUp => "/event-platform",
    };
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let reply = runtime().block_on(receiver.handle(&case.method, path, &headers, &case.body, now));
    let (status, events) = sent.expected();
    let queued = receiver.queue().bodies();
    let unmodelled = matches!(body_model(case.protocol, &case.body), BodyModel::Unmodelled);
    if unmodelled && status == StatusCode::OK && reply.status == StatusCode::BAD_REQUEST {
        assert!(queued.is_empty(), "events queued with a 400");
        return;
    }
    assert_eq!(
        reply.status, status,
        "status differs from the model; reply {:?}",
        reply.body
    );
    if reply.status != StatusCode::OK || case.method != Method::POST {
        assert!(queued.is_empty(), "events queued with a {}", reply.status);
        return;
    }
    let raws: Vec<String> = queued
        .iter()
        .map(|body| read_envelope(body).expect("an envelope").event.get().to_owned())
        .collect();
    let slices: Vec<&str> = split_events(case.protocol, &case.body)
        .map(|events| events.iter().map(|e| e.raw).collect())
        .unwrap_or_default();
    assert_eq!(
        raws, slices,
        "a 200 without every event queued byte for byte, in order"
    );
    if !unmodelled {
        let read: Vec<Value> = raws.iter().map(|raw| value_of(raw).expect("JSON")).collect();
        assert_eq!(read, events, "the queued events differ from the model's");
    }
}

/// The signature checks: each protocol's verdict equals the model's.
pub fn check_signatures(case: &SignatureCase) {
    let now = i64::try_from(NOW).unwrap_or(i64::MAX);
    let secrets: Vec<&str> = case.secrets.iter().map(String::as_str).collect();
    let relay_secrets = Secrets::new(&secrets);
    let events_api = events_api::verify(
        &relay_secrets,
        case.first.as_deref(),
        case.second.as_deref(),
        &case.body,
        now,
        TOLERANCE_SECS,
    )
    .is_ok();
    let model = events_api_signature_ok(
        &secrets,
        case.first.as_deref(),
        case.second.as_deref(),
        &case.body,
        NOW,
        TOLERANCE_SECS,
    );
    assert_eq!(events_api, model, "Events API verdict differs from the model");
    let event_platform = event_platform::verify(
        &relay_secrets,
        case.first.as_deref(),
        case.second.as_deref(),
        case.algorithm.as_deref(),
        &case.body,
    )
    .is_ok();
    let model = event_platform_signature_ok(
        &secrets,
        case.first.as_deref(),
        case.second.as_deref(),
        case.algorithm.as_deref(),
        &case.body,
    );
    assert_eq!(
        event_platform, model,
        "Event Platform verdict differs from the model"
    );
}

/// Inputs to both verifiers: for the Events API `first` is the timestamp and
/// `second` the signature; for the Event Platform they are the primary and
/// secondary signatures.
#[derive(Debug, Clone, Default)]
pub struct SignatureCase {
    /// The secrets the route holds.
    pub secrets: Vec<String>,
    /// The timestamp header (Events API) or the primary signature.
    pub first: Option<Vec<u8>>,
    /// The signature header (Events API) or the secondary signature.
    pub second: Option<Vec<u8>>,
    /// The algorithm header (Event Platform).
    pub algorithm: Option<Vec<u8>>,
    /// The signed body.
    pub body: Vec<u8>,
}

/// Bodies to start from: every fixture, by protocol.
pub fn seed_bodies() -> HashMap<Protocol, Vec<Vec<u8>>> {
    let mut seeds = HashMap::new();
    for (protocol, folder) in [
        (Protocol::EventsApi, "events-api"),
        (Protocol::EventPlatform, "event-platform"),
    ] {
        let bodies = crate::testing::fixture_files(folder)
            .iter()
            .map(|f| crate::testing::fixture(f))
            .collect();
        seeds.insert(protocol, bodies);
    }
    seeds
}

/// Seconds since the epoch of [`NOW`], for callers building their own clocks.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}
