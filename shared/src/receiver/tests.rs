//! The status table of PROTOCOLS.md section 3, row by row, with the clock injected.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use ring::hmac;

use super::*;
use crate::config::{EVENT_PLATFORM_SECRETS, EVENTS_API_SECRETS, QUEUE_URL};
use crate::test_support::{Behaviour, MemoryQueue, fixture, signature_vectors};

const EA_SECRET: &str = "3ha6eonoa9icsckw8kccos084w0c0000g08g40oo4kww0gc8w4";
const EP_SECRET: &str = "averysecretprimarysecret";
const SENT_AT: u64 = 1_602_565_368;

fn receiver_with(behaviour: Behaviour, events_api: &str, event_platform: &str) -> Receiver<MemoryQueue> {
    let vars = [
        (QUEUE_URL, "q"),
        (EVENTS_API_SECRETS, events_api),
        (EVENT_PLATFORM_SECRETS, event_platform),
    ];
    let config = ReceiverConfig::from_lookup(|name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    })
    .unwrap();
    Receiver::new(&config, MemoryQueue::new(behaviour))
}

fn receiver(behaviour: Behaviour) -> Receiver<MemoryQueue> {
    receiver_with(behaviour, EA_SECRET, EP_SECRET)
}

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn hex_hmac(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()));
    parts.iter().for_each(|part| mac.update(part));
    hex::encode(mac.sign())
}

fn events_api_headers(body: &[u8], timestamp: u64) -> HeaderMap {
    let ts = timestamp.to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        signature::EVENTS_API_TIMESTAMP,
        HeaderValue::from_str(&ts).unwrap(),
    );
    let signature = hex_hmac(EA_SECRET, &[ts.as_bytes(), b".", body]);
    headers.insert(
        signature::EVENTS_API_SIGNATURE,
        HeaderValue::from_str(&signature).unwrap(),
    );
    headers
}

fn event_platform_headers(body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let signature = hex_hmac(EP_SECRET, &[body]);
    headers.insert(
        signature::EVENT_PLATFORM_PRIMARY,
        HeaderValue::from_str(&signature).unwrap(),
    );
    headers.insert(
        signature::EVENT_PLATFORM_ALGORITHM,
        HeaderValue::from_static("HmacSHA256"),
    );
    headers
}

async fn post(receiver: &Receiver<MemoryQueue>, path: &str, headers: &HeaderMap, body: &[u8]) -> Reply {
    receiver
        .handle(&Method::POST, path, headers, body, at(SENT_AT))
        .await
}

fn error_code(reply: &Reply) -> String {
    let body: serde_json::Value = serde_json::from_str(reply.body.as_deref().unwrap()).unwrap();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn events_api_valid_signature_queues_every_event_and_answers_200() {
    let receiver = receiver(Behaviour::Accept);
    let body = fixture("events-api/bulk-10.product.updated.json");
    let reply = post(
        &receiver,
        "/events-api",
        &events_api_headers(&body, SENT_AT),
        &body,
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_deref()),
        (StatusCode::OK, Some(r#"{"queued":10}"#))
    );
    assert_eq!(receiver.queue().bodies().len(), 10);
}

#[tokio::test]
async fn the_signature_vector_fixture_is_accepted_as_sent() {
    let vectors = signature_vectors();
    let vector = &vectors["events_api"][1];
    let body = fixture(vector["body_file"].as_str().unwrap());
    let mut headers = HeaderMap::new();
    headers.insert(
        signature::EVENTS_API_TIMESTAMP,
        HeaderValue::from_static("1602565368"),
    );
    headers.insert(
        signature::EVENTS_API_SIGNATURE,
        HeaderValue::from_str(vector["signature"].as_str().unwrap()).unwrap(),
    );
    let reply = post(&receiver(Behaviour::Accept), "/events-api", &headers, &body).await;
    assert_eq!(reply.status, StatusCode::OK);

    let vector = &vectors["event_platform"][0];
    let body = fixture(vector["body_file"].as_str().unwrap());
    let mut headers = HeaderMap::new();
    for (header, key) in [
        (signature::EVENT_PLATFORM_PRIMARY, "primary_signature"),
        (signature::EVENT_PLATFORM_SECONDARY, "secondary_signature"),
    ] {
        headers.insert(
            header,
            HeaderValue::from_str(vector[key].as_str().unwrap()).unwrap(),
        );
    }
    let only_new_secret = receiver_with(
        Behaviour::Accept,
        EA_SECRET,
        vector["secondary_secret"].as_str().unwrap(),
    );
    assert_eq!(
        post(&only_new_secret, "/event-platform", &headers, &body)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn event_platform_valid_signature_queues_the_event_and_answers_200() {
    let receiver = receiver(Behaviour::Accept);
    let body = fixture("event-platform/product.updated.delta.json");
    let reply = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(&body),
        &body,
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_deref()),
        (StatusCode::OK, Some(r#"{"queued":1}"#))
    );
    let queued: serde_json::Value = serde_json::from_str(&receiver.queue().bodies()[0]).unwrap();
    assert_eq!(queued["protocol"], "event-platform");
    assert_eq!(queued["type"], "com.akeneo.pim.v1.product.updated.delta");
    assert_eq!(queued["received_at"], "2020-10-13T05:02:48.000Z");
}

#[tokio::test]
async fn test_button_is_200_and_queues_nothing() {
    let receiver = receiver(Behaviour::Unavailable);
    let reply = post(&receiver, "/events-api", &events_api_headers(b"", SENT_AT), b"").await;
    assert_eq!(
        (reply.status, reply.body.as_deref()),
        (StatusCode::OK, Some(r#"{"queued":0}"#))
    );
    assert!(receiver.queue().calls.lock().unwrap().is_empty());
    // Unsigned, the same empty POST is refused.
    let reply = post(&receiver, "/events-api", &HeaderMap::new(), b"").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn head_and_get_answer_200_on_both_routes() {
    let receiver = receiver(Behaviour::Unavailable);
    for path in ["/events-api", "/event-platform", "/event-platform/"] {
        let head = receiver
            .handle(&Method::HEAD, path, &HeaderMap::new(), b"", at(0))
            .await;
        assert_eq!((head.status, head.body), (StatusCode::OK, None), "{path}");
        let get = receiver
            .handle(&Method::GET, path, &HeaderMap::new(), b"", at(0))
            .await;
        assert_eq!(get.status, StatusCode::OK, "{path}");
        assert!(get.body.unwrap().contains(r#""status":"ok""#));
    }
}

#[tokio::test]
async fn missing_wrong_or_stale_signatures_are_401_with_one_message() {
    let receiver = receiver(Behaviour::Accept);
    let body = fixture("events-api/product.created.json");
    let ea = events_api_headers(&body, SENT_AT);
    let stale = events_api_headers(&body, SENT_AT - 301);
    let mut wrong = ea.clone();
    wrong.insert(
        signature::EVENTS_API_SIGNATURE,
        HeaderValue::from_str(&"0".repeat(64)).unwrap(),
    );
    let ep_body = fixture("event-platform/product.created.json");
    let mut ep_wrong = event_platform_headers(&ep_body);
    ep_wrong.insert(
        signature::EVENT_PLATFORM_PRIMARY,
        HeaderValue::from_static("deadbeef"),
    );

    let cases = [
        ("/events-api", HeaderMap::new(), &body),
        ("/events-api", wrong, &body),
        ("/events-api", stale, &body),
        ("/event-platform", HeaderMap::new(), &ep_body),
        ("/event-platform", ep_wrong, &ep_body),
        ("/event-platform", event_platform_headers(b"other"), &ep_body),
    ];
    let mut messages = Vec::new();
    for (path, headers, body) in cases {
        let reply = post(&receiver, path, &headers, body).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} {headers:?}");
        assert_eq!(error_code(&reply), "unauthorized");
        messages.push(reply.body.unwrap());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "every signature failure reads the same");
    assert!(receiver.queue().bodies().is_empty());
}

#[tokio::test]
async fn signed_bodies_that_are_not_json_or_not_the_envelope_are_400() {
    let receiver = receiver(Behaviour::Accept);
    let cases: [(&str, &[u8], &str); 4] = [
        ("/events-api", b"{not json", "invalid_json"),
        ("/events-api", br#"{"items":[]}"#, "invalid_envelope"),
        ("/event-platform", b"<xml/>", "invalid_json"),
        ("/event-platform", b"42", "invalid_envelope"),
    ];
    for (path, body, code) in cases {
        let headers = if path == "/events-api" {
            events_api_headers(body, SENT_AT)
        } else {
            event_platform_headers(body)
        };
        let reply = post(&receiver, path, &headers, body).await;
        assert_eq!(
            (reply.status, error_code(&reply).as_str()),
            (StatusCode::BAD_REQUEST, code)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn queue_unavailable_is_503_for_the_events_api_and_429_for_the_event_platform() {
    let receiver = receiver(Behaviour::Unavailable);
    let body = fixture("events-api/product.removed.json");
    let reply = post(
        &receiver,
        "/events-api",
        &events_api_headers(&body, SENT_AT),
        &body,
    )
    .await;
    assert_eq!(
        (reply.status, error_code(&reply).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable")
    );
    assert!(
        !reply.body.unwrap().contains("connection refused"),
        "internal errors stay internal"
    );

    let body = fixture("event-platform/product.deleted.json");
    let reply = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(&body),
        &body,
    )
    .await;
    assert_eq!(
        (reply.status, error_code(&reply).as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "queue_unavailable")
    );
}

#[tokio::test]
async fn an_event_over_the_sqs_limit_is_413_and_the_others_are_still_queued() {
    let receiver = receiver(Behaviour::Accept);
    let big = format!(
        r#"{{"event_id":"big-one","action":"product.updated","data":"{}"}}"#,
        "x".repeat(1_048_576)
    );
    let body = format!(r#"{{"events":[{{"event_id":"small","action":"product.updated"}},{big}]}}"#);
    let reply = post(
        &receiver,
        "/events-api",
        &events_api_headers(body.as_bytes(), SENT_AT),
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (reply.status, error_code(&reply).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "event_too_large")
    );
    assert!(reply.body.unwrap().contains("big-one"));
    let queued = receiver.queue().bodies();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains(r#""id":"small""#));

    let body = big.replace("event_id", "id");
    let reply = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(body.as_bytes()),
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_paths_and_unconfigured_routes_are_404_and_nothing_is_ever_3xx() {
    let receiver = receiver_with(Behaviour::Accept, EA_SECRET, "");
    let body = fixture("event-platform/product.created.json");
    let unknown = post(&receiver, "/webhook", &HeaderMap::new(), b"{}").await;
    assert_eq!(
        (unknown.status, error_code(&unknown).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let disabled = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(&body),
        &body,
    )
    .await;
    assert_eq!(
        (disabled.status, error_code(&disabled).as_str()),
        (StatusCode::NOT_FOUND, "route_not_configured")
    );
    assert!(
        disabled
            .body
            .unwrap()
            .contains("Event Platform route is not configured")
    );

    let put = receiver
        .handle(&Method::PUT, "/events-api", &HeaderMap::new(), b"", at(0))
        .await;
    assert_eq!(
        (put.status, error_code(&put).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    for reply in [unknown, put] {
        assert!(!reply.status.is_redirection());
    }
}

#[tokio::test]
async fn a_partially_failing_queue_is_retried_until_every_event_is_queued() {
    let receiver = receiver(Behaviour::FailEntryTimes("7", 2));
    let body = fixture("events-api/bulk-10.product.updated.json");
    let reply = post(
        &receiver,
        "/events-api",
        &events_api_headers(&body, SENT_AT),
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(receiver.queue().bodies().len(), 10);
}
