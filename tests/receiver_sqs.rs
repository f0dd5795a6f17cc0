//! The receiver's Function URL handling against a real SQS API (moto).

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use lambda_http::Body;
use relay_tests::*;
use serde_json::Value;
use shared::aws::sqs::SqsQueue;
use shared::config::ReceiverConfig;
use shared::queue::{BatchEntry, BatchReport, FailedEntry, QueueSender, SendError};
use shared::receiver::{Receiver, lambda::respond};

const EA_SECRET: &str = "events-api-test-secret-0123456789abcdefghijklmnop";
const EP_PRIMARY: &str = "averysecretprimarysecret";
const EP_SECONDARY: &str = "anothersecondarysecret16";

fn config(queue_url: &str) -> ReceiverConfig {
    ReceiverConfig::from_lookup(|name| match name {
        "QUEUE_URL" => Some(queue_url.to_owned()),
        "EVENTS_API_SECRETS" => Some(EA_SECRET.to_owned()),
        "EVENT_PLATFORM_SECRETS" => Some(format!("{EP_PRIMARY},{EP_SECONDARY}")),
        _ => None,
    })
    .expect("valid test config")
}

async fn receiver_on_new_queue(name: &str) -> (Receiver<SqsQueue>, Client, String) {
    let client = sqs_client().await;
    let queue_url = create_queue(&client, name).await;
    let sdk = shared::aws::sdk_config().await;
    let receiver = Receiver::new(&config(&queue_url), SqsQueue::new(&sdk, &queue_url));
    (receiver, client, queue_url)
}

async fn post<Q: QueueSender>(
    receiver: &Receiver<Q>,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    base64: bool,
) -> (u16, Value) {
    let request = function_url_request("POST", path, headers, body, base64);
    let response = respond(receiver, &request).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON response"),
        other => panic!("unexpected response body {other:?}"),
    };
    (status, body)
}

/// Checks a queued message against the event it came from: envelope fields and
/// the event's bytes exactly as they stand in the request body.
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

#[tokio::test]
async fn every_events_api_fixture_lands_on_sqs_byte_for_byte_plain_and_base64() {
    let (receiver, client, queue_url) = receiver_on_new_queue("ea-fixtures").await;
    for file in fixture_files("events-api") {
        for base64 in [false, true] {
            let body = fixture(&file);
            let (status, reply) = post(
                &receiver,
                "/events-api",
                &events_api_headers(EA_SECRET, &body),
                &body,
                base64,
            )
            .await;
            let parsed: Value = serde_json::from_slice(&body).expect("fixture JSON");
            let events = parsed["events"].as_array().expect("events");
            assert_eq!(
                (status, &reply["queued"]),
                (200, &Value::from(events.len())),
                "{file}"
            );

            let messages = drain(&client, &queue_url).await;
            assert_eq!(messages.len(), events.len(), "{file}");
            for message in &messages {
                let text = message.body.as_deref().expect("body");
                let envelope: Value = serde_json::from_str(text).expect("envelope");
                let id = envelope["id"].as_str().expect("id lifted");
                let expected = events
                    .iter()
                    .find(|e| e["event_id"] == id)
                    .expect("event of the request");
                assert_forwarded_exactly(text, &body, expected);
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
    }
}

#[tokio::test]
async fn every_event_platform_fixture_lands_on_sqs_with_either_signature() {
    let (receiver, client, queue_url) = receiver_on_new_queue("ep-fixtures").await;
    for file in fixture_files("event-platform") {
        for secrets in [
            &[EP_PRIMARY, EP_SECONDARY][..],
            &[EP_SECONDARY],
            &["retired-secret", EP_PRIMARY],
        ] {
            let body = fixture(&file);
            let headers = event_platform_headers(secrets, &body);
            let (status, reply) = post(&receiver, "/event-platform", &headers, &body, false).await;
            assert_eq!(
                (status, &reply["queued"]),
                (200, &Value::from(1)),
                "{file} {secrets:?}"
            );

            let messages = drain(&client, &queue_url).await;
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
    let (receiver, client, queue_url) = receiver_on_new_queue("ea-escapes").await;
    let vectors: Value = serde_json::from_slice(&fixture("signatures.json")).expect("vectors");
    let body = vectors["events_api"][2]["body"]
        .as_str()
        .expect("body")
        .as_bytes()
        .to_vec();
    let (status, _) = post(
        &receiver,
        "/events-api",
        &events_api_headers(EA_SECRET, &body),
        &body,
        true,
    )
    .await;
    assert_eq!(status, 200);
    let messages = drain(&client, &queue_url).await;
    let text = messages[0].body.as_deref().expect("body");
    assert!(raw_event_of(text).contains(r#""pim_source":"https:\/\/demo.akeneo.com""#));
    let envelope: Value = serde_json::from_str(text).expect("envelope");
    assert_eq!(envelope["source"], "https://demo.akeneo.com");
}

#[tokio::test]
async fn a_request_of_25_events_is_sent_in_several_batch_calls_and_all_arrive() {
    let (receiver, client, queue_url) = receiver_on_new_queue("ea-25").await;
    let events: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"action":"product.updated","event_id":"e-{i}","data":{{"resource":{{"identifier":"p{i}"}}}}}}"#))
        .collect();
    let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
    let (status, reply) = post(
        &receiver,
        "/events-api",
        &events_api_headers(EA_SECRET, body.as_bytes()),
        body.as_bytes(),
        false,
    )
    .await;
    assert_eq!((status, &reply["queued"]), (200, &Value::from(25)));
    let mut ids: Vec<String> = drain(&client, &queue_url)
        .await
        .iter()
        .map(|m| string_attribute(m, "id").expect("id attribute"))
        .collect();
    ids.sort_by_key(|id| id[2..].parse::<u32>().expect("numbered"));
    assert_eq!(ids, (0..25).map(|i| format!("e-{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_test_button_and_health_checks_queue_nothing() {
    let (receiver, client, queue_url) = receiver_on_new_queue("ea-test-button").await;
    let (status, reply) = post(
        &receiver,
        "/events-api",
        &events_api_headers(EA_SECRET, b""),
        b"",
        false,
    )
    .await;
    assert_eq!((status, &reply["queued"]), (200, &Value::from(0)));
    for method in ["HEAD", "GET"] {
        let response = respond(
            &receiver,
            &function_url_request(method, "/event-platform", &[], b"", false),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    assert!(drain(&client, &queue_url).await.is_empty());
}

#[tokio::test]
async fn a_message_of_exactly_one_mebibyte_is_accepted_by_sqs_and_one_byte_more_is_413() {
    let (receiver, client, queue_url) = receiver_on_new_queue("ep-limit").await;
    let event_with_padding = |padding: usize| {
        format!(
            r#"{{"id":"big","type":"com.akeneo.pim.v1.product.updated","data":"{}"}}"#,
            "x".repeat(padding)
        )
    };
    // Find the padding that makes the queue message exactly 1 MiB as SQS counts it.
    let probe = event_with_padding(0);
    let (status, _) = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(&[EP_PRIMARY], probe.as_bytes()),
        probe.as_bytes(),
        false,
    )
    .await;
    assert_eq!(status, 200);
    let probe_message = &drain(&client, &queue_url).await[0];
    let attributes: usize = probe_message
        .message_attributes
        .as_ref()
        .expect("attributes")
        .iter()
        .map(|(name, value)| {
            name.len() + value.data_type.len() + value.string_value.as_deref().map_or(0, str::len)
        })
        .sum();
    let probe_size = probe_message.body.as_deref().expect("body").len() + attributes;
    let exact = 1_048_576 - probe_size;

    let fits = event_with_padding(exact);
    let (status, _) = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(&[EP_PRIMARY], fits.as_bytes()),
        fits.as_bytes(),
        false,
    )
    .await;
    assert_eq!(status, 200, "SQS takes a message of exactly 1 MiB");
    let queued = drain(&client, &queue_url).await;
    assert_eq!(raw_event_of(queued[0].body.as_deref().expect("body")), fits);

    let over = event_with_padding(exact + 1);
    let (status, reply) = post(
        &receiver,
        "/event-platform",
        &event_platform_headers(&[EP_PRIMARY], over.as_bytes()),
        over.as_bytes(),
        false,
    )
    .await;
    assert_eq!((status, &reply["error"]), (413, &Value::from("event_too_large")));
    assert!(drain(&client, &queue_url).await.is_empty());
}

async fn receiver_on_unreachable_sqs(endpoint: &str) -> Receiver<SqsQueue> {
    let sdk = shared::aws::sdk_config()
        .await
        .into_builder()
        .endpoint_url(endpoint)
        .build();
    let queue_url = format!("{endpoint}/000000000000/nowhere");
    Receiver::new(&config(&queue_url), SqsQueue::new(&sdk, &queue_url))
}

#[tokio::test]
async fn with_sqs_unreachable_the_answer_is_503_or_429_inside_each_deadline() {
    // A port nothing listens on: connections are refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    check_deadlines(&receiver_on_unreachable_sqs(&endpoint).await).await;
}

#[tokio::test]
async fn with_sqs_hanging_the_answer_is_503_or_429_inside_each_deadline() {
    // Accepts connections and never answers, like a black-holed endpoint.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    check_deadlines(&receiver_on_unreachable_sqs(&endpoint).await).await;
}

async fn check_deadlines(receiver: &Receiver<SqsQueue>) {
    let body = fixture("events-api/bulk-10.product.updated.json");
    let started = Instant::now();
    let (status, reply) = post(
        receiver,
        "/events-api",
        &events_api_headers(EA_SECRET, &body),
        &body,
        false,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        (status, &reply["error"]),
        (503, &Value::from("queue_unavailable"))
    );
    assert!(
        took < Duration::from_millis(500),
        "Events API answered after {took:?}"
    );
    assert!(
        !reply.to_string().contains("127.0.0.1"),
        "no internals in the answer: {reply}"
    );

    let body = fixture("event-platform/product.created.json");
    let started = Instant::now();
    let (status, _) = post(
        receiver,
        "/event-platform",
        &event_platform_headers(&[EP_PRIMARY], &body),
        &body,
        false,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(status, 429);
    assert!(
        took < Duration::from_secs(5),
        "Event Platform answered after {took:?}"
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
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, SendError> {
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

async fn receiver_failing_entries(
    name: &str,
    failing_calls: usize,
) -> (Receiver<FailingEntries>, Client, String) {
    let client = sqs_client().await;
    let queue_url = create_queue(&client, name).await;
    let sdk = shared::aws::sdk_config().await;
    let queue = FailingEntries {
        inner: SqsQueue::new(&sdk, &queue_url),
        failing_ids: vec!["2", "7"],
        failing_calls,
        calls: Default::default(),
    };
    (Receiver::new(&config(&queue_url), queue), client, queue_url)
}

#[tokio::test]
async fn entries_sqs_fails_are_sent_again_and_the_request_succeeds_once_all_are_queued() {
    let (receiver, client, queue_url) = receiver_failing_entries("ea-partial", 2).await;
    let body = fixture("events-api/bulk-10.product.updated.json");
    let (status, _) = post(
        &receiver,
        "/events-api",
        &events_api_headers(EA_SECRET, &body),
        &body,
        false,
    )
    .await;
    assert_eq!(status, 200);
    let messages = drain(&client, &queue_url).await;
    assert_eq!(messages.len(), 10, "every event on the queue exactly once");
}

#[tokio::test]
async fn entries_sqs_keeps_failing_make_the_request_fail_while_the_rest_stay_queued() {
    let (receiver, client, queue_url) = receiver_failing_entries("ep-partial", usize::MAX).await;
    let one = String::from_utf8(fixture("event-platform/product.created.json")).expect("utf-8");
    let body = format!("[{}]", [one.trim(); 10].join(","));
    let headers = event_platform_headers(&[EP_PRIMARY], body.as_bytes());
    let (status, reply) = post(&receiver, "/event-platform", &headers, body.as_bytes(), false).await;
    assert_eq!(
        (status, &reply["error"]),
        (429, &Value::from("queue_unavailable"))
    );
    assert_eq!(
        drain(&client, &queue_url).await.len(),
        8,
        "the Event Platform retries; duplicates are fine"
    );
}
