//! The receiver's Function URL handling against a real SQS API (moto).

use std::time::{Duration, Instant};

use serde_json::Value;
use shared::adapters::aws::sqs::SqsQueue;
use shared::ports::queue::{BatchEntry, BatchReport, FailedEntry, QueueError, QueueSender};

use crate::support::akeneo::raw_event_of;
use crate::support::app::{EP_PRIMARY, EP_SECONDARY, ReceiverApp};
use crate::support::moto::{self, string_attribute};
use crate::support::{fixture, fixture_files};

/// The queued event is the exact slice of the request body, inside a v1 envelope.
fn assert_forwarded_exactly(message_body: &str, request_body: &[u8], expected_event: &Value) {
    let raw = raw_event_of(message_body);
    let request_text = std::str::from_utf8(request_body).expect("utf-8 body");
    assert!(
        request_text.contains(raw),
        "queued event is not a verbatim slice of the request"
    );
    assert!(raw.starts_with('{') && raw.ends_with('}'));
    assert_eq!(
        &serde_json::from_str::<Value>(raw).expect("event JSON"),
        expected_event
    );
    let envelope: Value = serde_json::from_str(message_body).expect("envelope JSON");
    assert_eq!(envelope["v"], 1);
    assert!(envelope["received_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

fn events_of(body: &[u8]) -> Vec<Value> {
    let parsed: Value = serde_json::from_slice(body).expect("fixture JSON");
    parsed["events"].as_array().expect("events").clone()
}

/// Checks every queued message of an Events API request: envelope, bytes, attributes.
fn assert_events_api_messages(messages: &[aws_sdk_sqs::types::Message], body: &[u8], file: &str) {
    let events = events_of(body);
    assert_eq!(messages.len(), events.len(), "{file}");
    for message in messages {
        let text = message.body.as_deref().expect("body");
        let envelope: Value = serde_json::from_str(text).expect("envelope");
        let id = envelope["id"].as_str().expect("id lifted");
        let expected = events
            .iter()
            .find(|e| e["event_id"] == id)
            .expect("event of the request");
        assert_forwarded_exactly(text, body, expected);
        assert_eq!(envelope["protocol"], "events-api");
        assert_eq!(envelope["type"], expected["action"]);
        assert_eq!(envelope["occurred_at"], expected["event_datetime"]);
        assert_eq!(envelope["source"], expected["pim_source"]);
        assert_eq!(
            string_attribute(message, "protocol").as_deref(),
            Some("events-api")
        );
        assert_eq!(
            string_attribute(message, "type").as_deref(),
            expected["action"].as_str()
        );
        assert_eq!(string_attribute(message, "id").as_deref(), Some(id));
    }
}

#[tokio::test]
async fn every_events_api_fixture_lands_on_sqs_byte_for_byte() {
    // GIVEN a receiver on a moto queue
    let app = ReceiverApp::start("ea-fixtures").await;
    for file in fixture_files("events-api") {
        // WHEN each fixture is posted, signed
        let body = fixture(&file);
        let answer = app.post_events_api(&body).await;
        // THEN it is 200 with every event queued exactly as sent
        assert_eq!(
            (answer.status, &answer.body["queued"]),
            (200, &Value::from(events_of(&body).len())),
            "{file}"
        );
        assert_events_api_messages(&app.queued().await, &body, &file);
    }
}

#[tokio::test]
async fn a_base64_encoded_function_url_body_is_decoded_before_it_is_verified() {
    // GIVEN a receiver, and the bulk fixture as a Function URL passes binary bodies
    let app = ReceiverApp::start("ea-base64").await;
    let file = "events-api/bulk-10.product.updated.json";
    let body = fixture(file);
    // WHEN it is posted base64-encoded
    let answer = app.post_events_api_base64(&body).await;
    // THEN the signature matched the decoded bytes and the events are queued as sent
    assert_eq!(answer.status, 200);
    assert_events_api_messages(&app.queued().await, &body, file);
}

#[tokio::test]
async fn every_event_platform_fixture_lands_on_sqs_with_either_signature() {
    // GIVEN a receiver holding the primary and the secondary secret
    let app = ReceiverApp::start("ep-fixtures").await;
    for file in fixture_files("event-platform") {
        for secrets in [
            &[EP_PRIMARY, EP_SECONDARY][..],
            &[EP_SECONDARY],
            &["retired-secret", EP_PRIMARY],
        ] {
            // WHEN each fixture is posted signed with both, only the new, or a retired and the current secret
            let body = fixture(&file);
            let answer = app.post_event_platform_signed(secrets, &body).await;
            // THEN it is 200 and its event is queued byte for byte with its attributes
            assert_eq!(
                (answer.status, &answer.body["queued"]),
                (200, &Value::from(1)),
                "{file} {secrets:?}"
            );
            let messages = app.queued().await;
            assert_eq!(messages.len(), 1);
            let text = messages[0].body.as_deref().expect("body");
            assert_eq!(
                raw_event_of(text),
                std::str::from_utf8(&body).expect("utf-8").trim()
            );
            let expected: Value = serde_json::from_slice(&body).expect("fixture");
            assert_forwarded_exactly(text, &body, &expected);
            assert_eq!(
                string_attribute(&messages[0], "type").as_deref(),
                expected["type"].as_str()
            );
            assert_eq!(
                string_attribute(&messages[0], "id").as_deref(),
                expected["id"].as_str()
            );
        }
    }
}

#[tokio::test]
async fn the_php_escaped_signature_vector_body_is_forwarded_with_its_escapes() {
    // GIVEN a receiver and the vector body the PIM writes with `\/`
    let app = ReceiverApp::start("ea-escapes").await;
    let body = shared::testing::signature_vectors("events_api")[2].body();
    // WHEN it is posted
    let answer = app.post_events_api_base64(&body).await;
    // THEN the queued event keeps `\/`, and the lifted source is unescaped
    assert_eq!(answer.status, 200);
    let messages = app.queued().await;
    let text = messages[0].body.as_deref().expect("body");
    assert!(raw_event_of(text).contains(r#""pim_source":"https:\/\/demo.akeneo.com""#));
    let envelope: Value = serde_json::from_str(text).expect("envelope");
    assert_eq!(envelope["source"], "https://demo.akeneo.com");
}

#[tokio::test]
async fn a_request_of_25_events_goes_out_in_several_batch_calls_and_all_arrive() {
    // GIVEN a receiver and a request of 25 events
    let app = ReceiverApp::start("ea-25").await;
    let events: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"action":"product.updated","event_id":"e-{i}","data":{{"resource":{{"identifier":"p{i}"}}}}}}"#))
        .collect();
    let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
    // WHEN it is posted
    let answer = app.post_events_api(body.as_bytes()).await;
    // THEN all 25 are on the queue
    assert_eq!((answer.status, &answer.body["queued"]), (200, &Value::from(25)));
    let mut ids: Vec<String> = app
        .queued()
        .await
        .iter()
        .map(|m| string_attribute(m, "id").expect("id"))
        .collect();
    ids.sort_by_key(|id| id[2..].parse::<u32>().expect("numbered"));
    assert_eq!(ids, (0..25).map(|i| format!("e-{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_test_button_queues_nothing() {
    // GIVEN a receiver
    let app = ReceiverApp::start("ea-test-button").await;
    // WHEN the Test button posts a signed empty body
    let answer = app.post_events_api(b"").await;
    // THEN it is 200 with nothing queued
    assert_eq!((answer.status, &answer.body["queued"]), (200, &Value::from(0)));
    assert!(app.queued().await.is_empty());
}

#[tokio::test]
async fn health_checks_answer_200_and_queue_nothing() {
    // GIVEN a receiver
    let app = ReceiverApp::start("ep-health").await;
    for method in ["HEAD", "GET"] {
        // WHEN the Event Platform route is probed
        let answer = app.request(method, "/event-platform", &vec![], b"", false).await;
        // THEN it answers 200
        assert_eq!(answer.status, 200, "{method}");
    }
    assert!(app.queued().await.is_empty());
}

/// A CloudEvent padded with `padding` bytes of data.
fn padded_event(padding: usize) -> String {
    format!(
        r#"{{"id":"big","type":"com.akeneo.pim.v1.product.updated","data":"{}"}}"#,
        "x".repeat(padding)
    )
}

/// The padding that makes the queue message exactly 1 MiB as SQS counts it.
async fn padding_for_one_mebibyte(app: &ReceiverApp) -> usize {
    let probe = padded_event(0);
    assert_eq!(app.post_event_platform(probe.as_bytes()).await.status, 200);
    let message = &app.queued().await[0];
    let attributes: usize = message
        .message_attributes
        .as_ref()
        .expect("attributes")
        .iter()
        .map(|(name, value)| {
            name.len() + value.data_type.len() + value.string_value.as_deref().map_or(0, str::len)
        })
        .sum();
    1_048_576 - (message.body.as_deref().expect("body").len() + attributes)
}

#[tokio::test]
async fn a_message_of_exactly_one_mebibyte_is_accepted_by_sqs() {
    // GIVEN an event whose queue message is exactly 1 MiB
    let app = ReceiverApp::start("ep-limit").await;
    let fits = padded_event(padding_for_one_mebibyte(&app).await);
    // WHEN it is posted
    let answer = app.post_event_platform(fits.as_bytes()).await;
    // THEN SQS takes it
    assert_eq!(answer.status, 200);
    assert_eq!(
        raw_event_of(app.queued().await[0].body.as_deref().expect("body")),
        fits
    );
}

#[tokio::test]
async fn a_message_one_byte_over_one_mebibyte_is_413() {
    // GIVEN an event whose queue message is 1 MiB and one byte
    let app = ReceiverApp::start("ep-over").await;
    let over = padded_event(padding_for_one_mebibyte(&app).await + 1);
    // WHEN it is posted
    let answer = app.post_event_platform(over.as_bytes()).await;
    // THEN it is 413 event_too_large and nothing is queued
    assert_eq!((answer.status, answer.error()), (413, "event_too_large"));
    assert!(app.queued().await.is_empty());
}

#[tokio::test]
async fn with_sqs_refusing_connections_the_events_api_gets_503_inside_500_ms() {
    // GIVEN a receiver whose SQS endpoint refuses connections
    let app = ReceiverApp::on_endpoint(&moto::refused_endpoint()).await;
    let started = Instant::now();
    // WHEN a bulk Events API request is posted
    let answer = app
        .post_events_api(&fixture("events-api/bulk-10.product.updated.json"))
        .await;
    // THEN it is 503 queue_unavailable in time, without internals
    let took = started.elapsed();
    assert_eq!((answer.status, answer.error()), (503, "queue_unavailable"));
    assert!(took < Duration::from_millis(500), "answered after {took:?}");
    assert!(!answer.body.to_string().contains("127.0.0.1"), "{}", answer.body);
}

#[tokio::test]
async fn with_sqs_refusing_connections_the_event_platform_gets_429_inside_5_s() {
    // GIVEN a receiver whose SQS endpoint refuses connections
    let app = ReceiverApp::on_endpoint(&moto::refused_endpoint()).await;
    let started = Instant::now();
    // WHEN an Event Platform request is posted
    let answer = app
        .post_event_platform(&fixture("event-platform/product.created.json"))
        .await;
    // THEN it is 429, so Akeneo slows down and retries, in time
    assert_eq!(answer.status, 429);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn with_sqs_hanging_the_events_api_gets_503_inside_500_ms() {
    // GIVEN a receiver whose SQS endpoint accepts connections and never answers
    let app = ReceiverApp::on_endpoint(&moto::hanging_endpoint().await).await;
    let started = Instant::now();
    // WHEN a bulk Events API request is posted
    let answer = app
        .post_events_api(&fixture("events-api/bulk-10.product.updated.json"))
        .await;
    // THEN it is 503 in time
    assert_eq!((answer.status, answer.error()), (503, "queue_unavailable"));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn with_sqs_hanging_the_event_platform_gets_429_inside_5_s() {
    // GIVEN a receiver whose SQS endpoint accepts connections and never answers
    let app = ReceiverApp::on_endpoint(&moto::hanging_endpoint().await).await;
    let started = Instant::now();
    // WHEN an Event Platform request is posted
    let answer = app
        .post_event_platform(&fixture("event-platform/product.created.json"))
        .await;
    // THEN it is 429 in time
    assert_eq!(answer.status, 429);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
}

/// Real SQS in front of which some entries fail the way SendMessageBatch reports
/// partial failures; moto cannot be made to fail single entries, so this is the
/// one double, at the outermost edge. Failed entries are not forwarded.
struct FailingEntries {
    inner: SqsQueue,
    failing_ids: Vec<&'static str>,
    failing_calls: usize,
    calls: std::sync::atomic::AtomicUsize,
}

impl QueueSender for FailingEntries {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let failing = |entry: &BatchEntry| call < self.failing_calls && self.failing_ids.contains(&entry.id);
        let forwarded: Vec<BatchEntry> = entries.iter().filter(|e| !failing(e)).copied().collect();
        let mut report = if forwarded.is_empty() {
            BatchReport::default()
        } else {
            self.inner.send_batch(&forwarded).await?
        };
        for entry in entries.iter().filter(|e| failing(e)) {
            report.failed.push(FailedEntry {
                id: entry.id.to_owned(),
                code: "InternalError".into(),
                sender_fault: false,
            });
        }
        Ok(report)
    }
}

async fn failing_entries(name: &str, failing_calls: usize) -> ReceiverApp<FailingEntries> {
    let sdk = moto::sdk().await;
    let queue_url = moto::create_queue(&moto::sqs().await, name).await;
    let queue = FailingEntries {
        inner: crate::support::app::sender(&sdk, &queue_url),
        failing_ids: vec!["2", "7"],
        failing_calls,
        calls: Default::default(),
    };
    ReceiverApp::with_queue(queue, queue_url).await
}

#[tokio::test]
async fn entries_sqs_fails_are_sent_again_and_the_request_succeeds_once_all_are_queued() {
    // GIVEN SQS failing two entries on its first two calls
    let app = failing_entries("ea-partial", 2).await;
    // WHEN a bulk request of ten events is posted
    let answer = app
        .post_events_api(&fixture("events-api/bulk-10.product.updated.json"))
        .await;
    // THEN it is 200 and every event is on the queue exactly once
    assert_eq!(answer.status, 200);
    assert_eq!(app.queued().await.len(), 10);
}

#[tokio::test]
async fn entries_sqs_keeps_failing_make_the_request_fail_while_the_rest_stay_queued() {
    // GIVEN SQS failing two entries on every call
    let app = failing_entries("ep-partial", usize::MAX).await;
    let one = String::from_utf8(fixture("event-platform/product.created.json")).expect("utf-8");
    let body = format!("[{}]", [one.trim(); 10].join(","));
    // WHEN ten events are posted to the Event Platform route
    let answer = app.post_event_platform(body.as_bytes()).await;
    // THEN it is 429 so Akeneo retries, with the other eight queued (duplicates are fine)
    assert_eq!((answer.status, answer.error()), (429, "queue_unavailable"));
    assert_eq!(app.queued().await.len(), 8);
}

#[tokio::test]
async fn a_tenants_event_lands_in_its_tenants_message_group() {
    // GIVEN a receiver on a moto queue serving tenant acme, beside the top-level routes
    let document = format!(
        r#"{{"event_platform_secrets":"{EP_PRIMARY}","tenants":{{"acme":{{"event_platform_secrets":"acme-secret"}}}}}}"#
    );
    let secrets = shared::core::receiver::secrets::parse_secret_document(&document).expect("document");
    let sdk = moto::sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = moto::create_queue(&sqs, "tenant-groups").await;
    let receiver = shared::core::receiver::Receiver::new(
        SqsQueue::new(&sdk, &queue_url),
        shared::core::receiver::SecretStore::fixed(secrets),
        300,
    );
    let app = ReceiverApp {
        receiver,
        sqs,
        queue_url,
    };
    let body = fixture("event-platform/product.updated.json");
    // WHEN acme's PIM delivers an event, and the top-level route one
    let acme_headers = crate::support::akeneo::event_platform_headers(&["acme-secret"], &body);
    let acme = app
        .request("POST", "/t/acme/event-platform", &acme_headers, &body, false)
        .await;
    let top = app.post_event_platform(&body).await;
    // THEN acme's message carries its tenant and is in acme's message group; the other in none
    assert_eq!((acme.status, top.status), (200, 200));
    let messages = app.queued().await;
    let group = |message: &aws_sdk_sqs::types::Message| {
        message
            .attributes
            .as_ref()
            .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId))
            .cloned()
    };
    let mut seen: Vec<(Option<String>, Option<String>)> = messages
        .iter()
        .map(|m| (string_attribute(m, "tenant"), group(m)))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [(None, None), (Some("acme".to_owned()), Some("acme".to_owned()))]
    );
}
