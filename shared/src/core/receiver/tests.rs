//! The status table of PROTOCOLS.md section 3, one row per test, with the clock
//! injected and an in-memory queue.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use super::*;
use crate::core::message::KeyPrefix;
use crate::core::signature::{Header, Secrets, event_platform, events_api};
use crate::testing::{Behaviour, MemoryPayloads, MemoryQueue, StoreBehaviour, fixture, signature_vectors};

const EA_SECRET: &str = "3ha6eonoa9icsckw8kccos084w0c0000g08g40oo4kww0gc8w4";
const EP_SECRET: &str = "averysecretprimarysecret";
const NOTIFICATION_SECRET: &str = "the-notification-webhook-secret";
const SENT_AT: u64 = 1_602_565_368;

/// A receiver on an in-memory queue, its clock at `SENT_AT`.
struct App {
    receiver: Receiver<MemoryQueue>,
}

impl App {
    fn new(behaviour: Behaviour) -> App {
        App::with_secrets(behaviour, EA_SECRET, EP_SECRET)
    }

    fn with_secrets(behaviour: Behaviour, events_api: &str, event_platform: &str) -> App {
        let secrets = RouteSecrets {
            events_api: Secrets::parse_list(events_api),
            event_platform: Secrets::parse_list(event_platform),
            notifications: Secrets::parse_list(NOTIFICATION_SECRET),
            ..RouteSecrets::default()
        };
        let receiver = Receiver::new(MemoryQueue::new(behaviour), SecretStore::fixed(secrets), 300);
        App { receiver }
    }

    async fn request(&self, method: Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Reply {
        let now: SystemTime = UNIX_EPOCH + Duration::from_secs(SENT_AT);
        self.receiver.handle(&method, path, headers, body, now).await
    }

    /// A POST signed as the PIM signs it, `skew` seconds before now.
    async fn post_events_api_signed_ago(&self, body: &[u8], skew: u64) -> Reply {
        let headers = header_map(events_api::headers(EA_SECRET, SENT_AT - skew, body));
        self.request(Method::POST, "/events-api", &headers, body).await
    }

    async fn post_events_api(&self, body: &[u8]) -> Reply {
        self.post_events_api_signed_ago(body, 0).await
    }

    async fn post_event_platform(&self, body: &[u8]) -> Reply {
        let headers = header_map(event_platform::headers(EP_SECRET, None, body));
        self.request(Method::POST, "/event-platform", &headers, body)
            .await
    }

    fn queued(&self) -> Vec<String> {
        self.receiver.queue().bodies()
    }

    /// The same receiver, storing large events in `store` under `relay/`.
    fn storing_in(self, store: &std::sync::Arc<MemoryPayloads>) -> App {
        let large_events = LargeEvents {
            store: store.clone(),
            key_prefix: KeyPrefix::parse("relay/").expect("prefix"),
        };
        App {
            receiver: self.receiver.with_large_events(large_events),
        }
    }
}

/// An Events API request with a small event and one of `padding` bytes of data.
fn small_and_large(padding: usize) -> String {
    let large = format!(
        r#"{{"event_id":"big-one","action":"product.updated","data":"{}"}}"#,
        "x".repeat(padding)
    );
    format!(r#"{{"events":[{{"event_id":"small","action":"product.updated"}},{large}]}}"#)
}

pub(super) fn header_map(headers: impl IntoIterator<Item = Header>) -> HeaderMap {
    headers
        .into_iter()
        .map(|(name, value)| {
            (
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).expect("ASCII header"),
            )
        })
        .collect()
}

/// The reply's status and stable error code (asserting it has a message too).
fn refusal(reply: &Reply) -> (StatusCode, String) {
    let body: serde_json::Value = serde_json::from_str(reply.body.as_deref().expect("a body")).expect("JSON");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    (
        reply.status,
        body["error"].as_str().expect("error code").to_owned(),
    )
}

#[tokio::test]
async fn an_events_api_request_with_a_valid_signature_queues_every_event_and_answers_200() {
    // GIVEN a receiver and a signed bulk request of ten events
    let app = App::new(Behaviour::Accept);
    let body = fixture("events-api/bulk-10.product.updated.json");
    // WHEN it is posted
    let reply = app.post_events_api(&body).await;
    // THEN every event is queued and the answer says so
    assert_eq!(
        (reply.status, reply.body.as_deref()),
        (StatusCode::OK, Some(r#"{"queued":10}"#))
    );
    assert_eq!(app.queued().len(), 10);
}

#[tokio::test]
async fn the_events_api_signature_vector_is_accepted_as_sent() {
    // GIVEN the known-answer vector's exact headers and body
    let app = App::new(Behaviour::Accept);
    let vector = &signature_vectors("events_api")[1];
    let headers = header_map([
        (events_api::TIMESTAMP_HEADER, vector.text("timestamp").to_owned()),
        (events_api::SIGNATURE_HEADER, vector.text("signature").to_owned()),
    ]);
    // WHEN they are posted
    let reply = app
        .request(Method::POST, "/events-api", &headers, &vector.body())
        .await;
    // THEN the request is accepted
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn the_event_platform_vector_is_accepted_by_a_relay_holding_only_the_new_secret() {
    // GIVEN a relay that holds only the vector's secondary secret
    let vector = &signature_vectors("event_platform")[0];
    let app = App::with_secrets(Behaviour::Accept, EA_SECRET, vector.text("secondary_secret"));
    let headers = header_map([
        (
            event_platform::PRIMARY_HEADER,
            vector.text("primary_signature").to_owned(),
        ),
        (
            event_platform::SECONDARY_HEADER,
            vector.text("secondary_signature").to_owned(),
        ),
    ]);
    // WHEN the vector is posted with both signatures
    let reply = app
        .request(Method::POST, "/event-platform", &headers, &vector.body())
        .await;
    // THEN it is accepted
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn an_event_platform_request_with_a_valid_signature_queues_the_event_and_answers_200() {
    // GIVEN a receiver and a signed delta event
    let app = App::new(Behaviour::Accept);
    let body = fixture("event-platform/product.updated.delta.json");
    // WHEN it is posted
    let reply = app.post_event_platform(&body).await;
    // THEN it is queued in its envelope, received at the injected time
    assert_eq!(
        (reply.status, reply.body.as_deref()),
        (StatusCode::OK, Some(r#"{"queued":1}"#))
    );
    let queued: serde_json::Value = serde_json::from_str(&app.queued()[0]).expect("JSON");
    assert_eq!(queued["protocol"], "event-platform");
    assert_eq!(queued["type"], "com.akeneo.pim.v1.product.updated.delta");
    assert_eq!(queued["received_at"], "2020-10-13T05:02:48.000Z");
}

#[tokio::test]
async fn the_test_button_is_200_and_queues_nothing() {
    // GIVEN a receiver whose queue is down
    let app = App::new(Behaviour::Unavailable);
    // WHEN the subscription page's Test button posts a signed empty body
    let reply = app.post_events_api(b"").await;
    // THEN it is accepted without touching the queue
    assert_eq!(
        (reply.status, reply.body.as_deref()),
        (StatusCode::OK, Some(r#"{"queued":0}"#))
    );
    assert!(app.receiver.queue().calls().is_empty());
}

#[tokio::test]
async fn an_unsigned_empty_post_is_not_the_test_button() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Accept);
    // WHEN an empty body is posted without a signature
    let reply = app
        .request(Method::POST, "/events-api", &HeaderMap::new(), b"")
        .await;
    // THEN it is refused
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn head_answers_200_without_a_body_on_both_routes() {
    // GIVEN a receiver whose queue is down
    let app = App::new(Behaviour::Unavailable);
    for path in ["/events-api", "/event-platform", "/event-platform/"] {
        // WHEN a route is probed with HEAD
        let reply = app.request(Method::HEAD, path, &HeaderMap::new(), b"").await;
        // THEN it answers 200 with no body
        assert_eq!((reply.status, reply.body), (StatusCode::OK, None), "{path}");
    }
}

#[tokio::test]
async fn get_answers_200_with_a_status_on_both_routes() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Unavailable);
    for path in ["/events-api", "/event-platform"] {
        // WHEN a route is probed with GET
        let reply = app.request(Method::GET, path, &HeaderMap::new(), b"").await;
        // THEN it answers 200 with its status
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(reply.body.is_some_and(|b| b.contains(r#""status":"ok""#)));
    }
}

#[tokio::test]
async fn missing_wrong_or_stale_signatures_are_401_with_one_and_the_same_message() {
    // GIVEN a receiver and requests whose signature is missing, wrong or stale
    let app = App::new(Behaviour::Accept);
    let body = fixture("events-api/product.created.json");
    let ep_body = fixture("event-platform/product.created.json");
    let mut wrong = header_map(events_api::headers(EA_SECRET, SENT_AT, &body));
    wrong.insert(
        events_api::SIGNATURE_HEADER,
        HeaderValue::from_str(&"0".repeat(64)).expect("ASCII"),
    );
    let mut ep_wrong = header_map(event_platform::headers(EP_SECRET, None, &ep_body));
    ep_wrong.insert(
        event_platform::PRIMARY_HEADER,
        HeaderValue::from_static("deadbeef"),
    );
    let ep_other_body = header_map(event_platform::headers(EP_SECRET, None, b"other"));
    let mut replies = vec![
        app.request(Method::POST, "/events-api", &HeaderMap::new(), &body)
            .await,
        app.request(Method::POST, "/events-api", &wrong, &body).await,
        app.post_events_api_signed_ago(&body, 301).await,
        app.request(Method::POST, "/event-platform", &HeaderMap::new(), &ep_body)
            .await,
        app.request(Method::POST, "/event-platform", &ep_wrong, &ep_body)
            .await,
        app.request(Method::POST, "/event-platform", &ep_other_body, &ep_body)
            .await,
    ];
    // WHEN they are posted
    // THEN each is 401 unauthorized, all with the same words, and nothing is queued
    for reply in &replies {
        assert_eq!(
            refusal(reply),
            (StatusCode::UNAUTHORIZED, "unauthorized".to_owned())
        );
    }
    replies.dedup();
    assert_eq!(replies.len(), 1, "every signature failure reads the same");
    assert!(app.queued().is_empty());
}

#[tokio::test]
async fn a_signed_body_that_is_not_json_is_400_invalid_json() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Accept);
    // WHEN signed bodies that are not JSON are posted on both routes
    let events_api = app.post_events_api(b"{not json").await;
    let event_platform = app.post_event_platform(b"<xml/>").await;
    // THEN both are 400 invalid_json
    let expected = (StatusCode::BAD_REQUEST, "invalid_json".to_owned());
    assert_eq!(
        (refusal(&events_api), refusal(&event_platform)),
        (expected.clone(), expected)
    );
}

#[tokio::test]
async fn signed_json_that_is_not_the_envelope_is_400_invalid_envelope() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Accept);
    // WHEN signed JSON of the wrong shape is posted on both routes
    let events_api = app.post_events_api(br#"{"items":[]}"#).await;
    let event_platform = app.post_event_platform(b"42").await;
    // THEN both are 400 invalid_envelope
    let expected = (StatusCode::BAD_REQUEST, "invalid_envelope".to_owned());
    assert_eq!(
        (refusal(&events_api), refusal(&event_platform)),
        (expected.clone(), expected)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_queue_is_503_on_the_events_api_without_internals() {
    // GIVEN a receiver whose queue refuses connections
    let app = App::new(Behaviour::Unavailable);
    // WHEN a signed Events API request is posted
    let reply = app
        .post_events_api(&fixture("events-api/product.removed.json"))
        .await;
    // THEN it is 503 queue_unavailable, and the cause stays in the logs
    assert_eq!(
        refusal(&reply),
        (StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable".to_owned())
    );
    assert!(!reply.body.unwrap_or_default().contains("connection refused"));
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_queue_is_429_on_the_event_platform_so_akeneo_slows_down_and_retries() {
    // GIVEN a receiver whose queue refuses connections
    let app = App::new(Behaviour::Unavailable);
    // WHEN a signed Event Platform request is posted
    let reply = app
        .post_event_platform(&fixture("event-platform/product.deleted.json"))
        .await;
    // THEN it is 429 queue_unavailable
    assert_eq!(
        refusal(&reply),
        (StatusCode::TOO_MANY_REQUESTS, "queue_unavailable".to_owned())
    );
}

#[tokio::test]
async fn an_event_over_the_sqs_limit_is_413_and_the_others_are_still_queued() {
    // GIVEN a receiver without a payload store, and a request with one small event and one over 1 MiB
    let app = App::new(Behaviour::Accept);
    let big = format!(
        r#"{{"event_id":"big-one","action":"product.updated","data":"{}"}}"#,
        "x".repeat(1_048_576)
    );
    let body = format!(r#"{{"events":[{{"event_id":"small","action":"product.updated"}},{big}]}}"#);
    // WHEN it is posted
    let reply = app.post_events_api(body.as_bytes()).await;
    // THEN it is 413 naming the big event, and the small one is queued
    assert_eq!(
        refusal(&reply),
        (StatusCode::PAYLOAD_TOO_LARGE, "event_too_large".to_owned())
    );
    assert!(reply.body.is_some_and(|b| b.contains("big-one")));
    let queued = app.queued();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains(r#""id":"small""#));
}

#[tokio::test]
async fn a_single_event_platform_event_over_the_sqs_limit_is_413() {
    // GIVEN a CloudEvent over 1 MiB
    let app = App::new(Behaviour::Accept);
    let body = format!(
        r#"{{"id":"big-one","type":"com.akeneo.pim.v1.product.updated","data":"{}"}}"#,
        "x".repeat(1_048_576)
    );
    // WHEN it is posted
    let reply = app.post_event_platform(body.as_bytes()).await;
    // THEN it is 413 and nothing is queued
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(app.queued().is_empty());
}

#[tokio::test]
async fn with_a_payload_store_an_event_over_the_limit_is_stored_and_a_pointer_queued_beside_the_others() {
    // GIVEN a receiver with a payload store, and a request with a small event and one over 1 MiB
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let app = App::new(Behaviour::Accept).storing_in(&store);
    let body = small_and_large(1_048_576);
    // WHEN it is posted
    let reply = app.post_events_api(body.as_bytes()).await;
    // THEN it is 200 with both queued: the small one as usual, the large one as a pointer
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body.as_deref(), Some(r#"{"queued":2}"#));
    let queued = app.receiver.queue().messages.lock().expect("lock").clone();
    assert_eq!(queued.len(), 2);
    let pointer = queued
        .iter()
        .find(|m| m.attribute("id") == Some("big-one"))
        .expect("the pointer keeps the event's attributes");
    let location: serde_json::Value = serde_json::from_str(&pointer.body).expect("pointer JSON");
    assert_eq!(location[0], "software.amazon.payloadoffloading.PayloadS3Pointer");
    assert_eq!(location[1]["s3BucketName"], "memory");
    let key = location[1]["s3Key"].as_str().expect("key");
    assert!(key.starts_with("relay/"), "{key}");
    // AND the store holds the message a small event would have had, byte for byte
    let stored = String::from_utf8(store.object(key).expect("stored")).expect("utf-8");
    assert!(stored.starts_with(r#"{"v":1,"protocol":"events-api","id":"big-one""#));
    let raw = &body[body.find(r#"{"event_id":"big-one""#).expect("big event")..body.len() - 2];
    assert!(stored.ends_with(&format!(r#","event":{raw}}}"#)));
    assert_eq!(
        pointer.attribute("ExtendedPayloadSize"),
        Some(stored.len().to_string().as_str())
    );
}

#[tokio::test]
async fn a_queue_with_a_smaller_maximum_sends_smaller_events_through_the_store() {
    // GIVEN a receiver for a queue whose messages may be 2 KiB, with a payload store
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let mut app = App::new(Behaviour::Accept).storing_in(&store);
    app.receiver = app.receiver.with_max_message_bytes(2_048);
    // WHEN a request with a 3 KB event is posted
    let reply = app.post_events_api(small_and_large(3_000).as_bytes()).await;
    // THEN the 3 KB event went through the store and the small one did not
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(store.len(), 1);
    assert!(app.queued().iter().all(|body| body.len() < 2_048));
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_payload_store_is_503_on_the_events_api_inside_the_budget() {
    // GIVEN a receiver whose payload store refuses connections
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Unavailable));
    let app = App::new(Behaviour::Accept).storing_in(&store);
    let started = tokio::time::Instant::now();
    // WHEN a request with a large event is posted
    let reply = app.post_events_api(small_and_large(1_048_576).as_bytes()).await;
    // THEN it is 503 payload_store_unavailable within the 400 ms budget, having tried more than once
    assert_eq!(
        refusal(&reply),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "payload_store_unavailable".to_owned()
        )
    );
    assert!(
        started.elapsed() <= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(store.put_keys().len() >= 2);
    assert!(!reply.body.unwrap_or_default().contains("connection refused"));
}

#[tokio::test(start_paused = true)]
async fn a_hung_payload_store_is_429_on_the_event_platform_inside_the_budget() {
    // GIVEN a receiver whose payload store never answers
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Hang));
    let app = App::new(Behaviour::Accept).storing_in(&store);
    let body = format!(
        r#"{{"id":"big-one","type":"com.akeneo.pim.v1.product.updated","data":"{}"}}"#,
        "x".repeat(1_048_576)
    );
    let started = tokio::time::Instant::now();
    // WHEN the large CloudEvent is posted
    let reply = app.post_event_platform(body.as_bytes()).await;
    // THEN it is 429 within the 4 s budget, and no pointer was queued
    assert_eq!(
        refusal(&reply),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "payload_store_unavailable".to_owned()
        )
    );
    assert!(
        started.elapsed() <= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(app.queued().is_empty());
}

#[tokio::test]
async fn an_unknown_path_is_404_not_found() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Accept);
    // WHEN a path that is no route is posted to
    let reply = app
        .request(Method::POST, "/webhook", &HeaderMap::new(), b"{}")
        .await;
    // THEN it is 404 not_found, never a redirect
    assert_eq!(refusal(&reply), (StatusCode::NOT_FOUND, "not_found".to_owned()));
}

#[tokio::test]
async fn a_route_without_secrets_is_404_route_not_configured() {
    // GIVEN a receiver with no Event Platform secret
    let app = App::with_secrets(Behaviour::Accept, EA_SECRET, "");
    // WHEN a signed Event Platform request is posted
    let reply = app
        .post_event_platform(&fixture("event-platform/product.created.json"))
        .await;
    // THEN the route is not there, and the message says which
    assert_eq!(
        refusal(&reply),
        (StatusCode::NOT_FOUND, "route_not_configured".to_owned())
    );
    assert!(
        reply
            .body
            .is_some_and(|b| b.contains("Event Platform route is not configured"))
    );
}

/// The stack's secret, as `subscribe` edits it while the receiver runs.
struct Stored(std::sync::Mutex<RouteSecrets>);

impl crate::ports::secrets::SecretSource for Stored {
    fn load(
        &self,
    ) -> futures::future::BoxFuture<'_, Result<RouteSecrets, crate::ports::secrets::SecretSourceError>> {
        let secrets = self.0.lock().map(|s| s.clone()).unwrap_or_default();
        Box::pin(async move { Ok(secrets) })
    }
}

#[tokio::test(start_paused = true)]
async fn a_route_without_secrets_reloads_them_early_so_a_secret_stored_since_is_taken_at_once() {
    // GIVEN a reloading store (every 300 s) with no Event Platform secret, loaded 31 s ago,
    // and the secret stored in the source since
    let source = std::sync::Arc::new(Stored(std::sync::Mutex::new(RouteSecrets::default())));
    let initial = RouteSecrets {
        events_api: Secrets::parse_list(EA_SECRET),
        ..RouteSecrets::default()
    };
    let store = SecretStore::reloading(initial, source.clone(), Duration::from_secs(300));
    let app = App {
        receiver: Receiver::new(MemoryQueue::new(Behaviour::Accept), store, 300),
    };
    tokio::time::sleep(Duration::from_secs(31)).await;
    *source.0.lock().expect("lock") = RouteSecrets {
        event_platform: Secrets::parse_list(EP_SECRET),
        ..RouteSecrets::default()
    };
    // WHEN a request signed with it comes, then another a moment later
    let body = fixture("event-platform/product.created.json");
    let first = app.post_event_platform(&body).await;
    tokio::task::yield_now().await;
    let second = app.post_event_platform(&body).await;
    // THEN the first finds no route, and the second is accepted, long before the 300 s reload
    assert_eq!(
        refusal(&first),
        (StatusCode::NOT_FOUND, "route_not_configured".to_owned())
    );
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
}

#[tokio::test]
async fn another_method_is_405_method_not_allowed() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Accept);
    // WHEN a route is sent a PUT
    let reply = app
        .request(Method::PUT, "/events-api", &HeaderMap::new(), b"")
        .await;
    // THEN it is 405 method_not_allowed
    assert_eq!(
        refusal(&reply),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".to_owned())
    );
}

#[tokio::test]
async fn entries_the_queue_fails_are_retried_until_every_event_is_queued() {
    // GIVEN a queue that fails one entry on its first two calls
    let app = App::new(Behaviour::FailEntryTimes("7", 2));
    // WHEN a signed bulk request is posted
    let reply = app
        .post_events_api(&fixture("events-api/bulk-10.product.updated.json"))
        .await;
    // THEN the answer waits until all ten are queued
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(app.queued().len(), 10);
}

#[tokio::test]
async fn events_with_characters_sqs_refuses_are_queued_and_read_back_byte_for_byte() {
    // GIVEN a receiver whose queue refuses what SQS refuses, and Events API events with
    // a form feed and a NUL escaped in their ids and a raw U+FFFF and U+FFFE in their data
    let app = App::new(Behaviour::Accept);
    let first = "{\"event_id\":\"a\\fb\",\"action\":\"product.updated\",\"data\":\"x\u{FFFF}\"}";
    let second = "{\"event_id\":\"\\u0000\",\"action\":\"product.created\",\"data\":\"\u{FFFE}\"}";
    let body = format!(r#"{{"events":[{first},{second}]}}"#);
    // WHEN they are posted
    let reply = app.post_events_api(body.as_bytes()).await;
    // THEN both are queued and each envelope gives back the event's exact bytes and id
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let events: Vec<(String, Option<String>)> = app
        .queued()
        .iter()
        .map(|body| {
            let envelope = crate::core::message::read_envelope(body).expect("envelope");
            (envelope.event.get().to_owned(), envelope.id)
        })
        .collect();
    assert_eq!(
        events,
        [
            (first.to_owned(), Some("a\u{C}b".to_owned())),
            (second.to_owned(), Some("\0".to_owned()))
        ]
    );
}

#[tokio::test]
async fn an_events_api_envelope_in_an_array_is_400_invalid_envelope_and_queues_nothing() {
    // GIVEN a receiver
    let app = App::new(Behaviour::Accept);
    // WHEN signed arrays shaped like the envelope's fields are posted
    let nested = app
        .post_events_api(br#"[[{"event_id":"e-1","action":"product.updated"}]]"#)
        .await;
    let odd = app.post_events_api(br#"[[[]],21]"#).await;
    // THEN both are refused as not the envelope, and nothing is queued
    let expected = (StatusCode::BAD_REQUEST, "invalid_envelope".to_owned());
    assert_eq!((refusal(&nested), refusal(&odd)), (expected.clone(), expected));
    assert!(app.queued().is_empty());
}

#[tokio::test]
async fn a_repeated_key_keeps_its_last_value_and_the_events_are_queued() {
    // GIVEN a receiver, an Events API body with "events" twice and an event with "event_id"
    // twice, and a CloudEvent with "id" twice
    let app = App::new(Behaviour::Accept);
    let events_api = br#"{"events":[{"event_id":"lost"}],"events":[{"event_id":"first","event_id":"last","action":"product.updated"}]}"#;
    let event_platform = br#"{"id":"first","type":"com.akeneo.pim.v1.product.updated.delta","id":"last"}"#;
    // WHEN both are posted
    let replies = (
        app.post_events_api(events_api).await.status,
        app.post_event_platform(event_platform).await.status,
    );
    // THEN both are 200, the last "events" is queued, and each lifted id is the last one
    assert_eq!(replies, (StatusCode::OK, StatusCode::OK));
    let ids: Vec<Option<String>> = app
        .queued()
        .iter()
        .map(|body| crate::core::message::read_envelope(body).expect("envelope").id)
        .collect();
    assert_eq!(ids, [Some("last".to_owned()), Some("last".to_owned())]);
}

#[tokio::test]
async fn a_notification_on_its_route_is_200_and_queues_only_its_catch_up_job() {
    // GIVEN a receiver with a notification secret, and a signed resumption
    let app = App::new(Behaviour::Accept);
    let sent_at = time::OffsetDateTime::from_unix_timestamp(SENT_AT as i64).expect("a valid time");
    let sent = crate::observability::logs::rfc3339(sent_at);
    let body = format!(
        r#"{{"notification_type":"subscription.resumed","subscription_id":"sub-1","timestamp":"{sent}"}}"#
    );
    let headers = header_map(event_platform::headers(
        NOTIFICATION_SECRET,
        None,
        body.as_bytes(),
    ));
    // WHEN it is posted to the notification route
    let reply = app
        .request(
            Method::POST,
            "/event-platform/notifications",
            &headers,
            body.as_bytes(),
        )
        .await;
    // THEN it is acknowledged, and only the catch-up job of the resume is queued
    assert_eq!(reply.status, StatusCode::OK);
    let queued = app.queued();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].contains(r#""type":"catch-up.job""#), "{}", queued[0]);
}
