//! Events too large for one SQS message, against moto's S3 and SQS: the
//! receiver stores them and queues a pointer in the AWS SQS Extended Client
//! format (CLAIM-CHECK.md), the processor hands the business logic the exact
//! original bytes, and the official Python extended client reads our pointers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::Message;
use serde_json::Value;
use shared::adapters::aws::s3::S3PayloadStore;
use shared::adapters::aws::sqs::SqsQueue;
use shared::core::processor::{Processor, Settings};
use shared::edges::lambda::function_url::FunctionUrlEvent;
use shared::edges::lambda::sqs_event::handle_sqs_event;
use shared::{EventHandler, Outcome, PimEvent};

use crate::support::akeneo::{event_platform_headers, events_api_headers, raw_event_of, sha256_hex};
use crate::support::app::{EA_SECRET, EP_PRIMARY, ReceiverApp};
use crate::support::function_url::{self, sqs_record};
use crate::support::moto::{self, string_attribute};
use crate::support::release::root;

const MB: usize = 1_000_000;

/// A receiver on its own moto queue, storing large events in its own bucket.
struct LargeEventsApp {
    app: ReceiverApp,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl LargeEventsApp {
    async fn start(name: &str) -> LargeEventsApp {
        let s3 = moto::s3().await;
        let bucket = moto::create_bucket(&s3, name).await;
        let store = S3PayloadStore::new(&moto::sdk().await, &bucket);
        let app = ReceiverApp::start(name).await.storing_large_events_in(store);
        LargeEventsApp { app, s3, bucket }
    }

    /// A receiver whose S3 endpoint is `endpoint` (refusing or hanging), on a
    /// moto queue, with a bucket that exists in moto.
    async fn with_s3_at(name: &str, endpoint: &str) -> LargeEventsApp {
        let s3 = moto::s3().await;
        let bucket = moto::create_bucket(&s3, name).await;
        let store = S3PayloadStore::from_client(s3_at(endpoint).await, &bucket);
        let app = ReceiverApp::start(name).await.storing_large_events_in(store);
        LargeEventsApp { app, s3, bucket }
    }

    /// The stored object a pointer names, asserting it is in this app's bucket.
    async fn stored(&self, pointer: &Pointer) -> Vec<u8> {
        assert_eq!(pointer.bucket, self.bucket);
        moto::object(&self.s3, &self.bucket, &pointer.key)
            .await
            .unwrap_or_else(|| panic!("no object {}", pointer.key))
    }
}

/// An S3 client on `endpoint` (the environment's AWS_ENDPOINT_URL would win
/// over an endpoint set on the shared SDK configuration).
async fn s3_at(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&moto::sdk().await)
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A CloudEvent of at least `bytes` bytes, with non-ASCII and escaped text in
/// its data so byte-exactness is tested where it is easiest to lose.
fn large_cloud_event(id: &str, bytes: usize) -> String {
    let value = "Lunettes d'\u{e9}t\u{e9} \\u00e9 \\/ ";
    let repeat = bytes / value.len() + 1;
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub-1","time":"2026-11-23T10:00:00Z","data":{{"product":{{"uuid":"uuid-{id}","values":{{"description":[{{"locale":"fr_FR","data":"{}"}}]}}}}}}}}"#,
        value.repeat(repeat)
    )
}

/// A signed request built ahead, so that a test times the receiver alone.
fn signed_request(path: &str, body: &str) -> FunctionUrlEvent {
    let headers = match path {
        "/events-api" => events_api_headers(EA_SECRET, body.as_bytes()),
        _ => event_platform_headers(&[EP_PRIMARY], body.as_bytes()),
    };
    function_url::request("POST", path, &headers, body.as_bytes(), false)
}

fn events_api_event(id: &str, padding: usize) -> String {
    format!(
        r#"{{"action":"product.updated","event_id":"{id}","event_datetime":"2026-11-23T10:00:00+00:00","author":"julia","author_type":"ui","pim_source":"https:\/\/demo.akeneo.com","data":{{"resource":{{"identifier":"sku-{id}","description":"{}"}}}}}}"#,
        "x".repeat(padding)
    )
}

/// A queued pointer, read strictly as CLAIM-CHECK.md specifies it.
#[derive(Debug)]
struct Pointer {
    bucket: String,
    key: String,
    size: usize,
}

/// Checks a message against the spec: the body a two-element JSON array of the
/// class name and exactly `s3BucketName` and `s3Key`; the reserved attribute
/// `ExtendedPayloadSize` a Number; at most ten attributes.
fn assert_pointer(message: &Message) -> Pointer {
    let body: Value = serde_json::from_str(message.body.as_deref().expect("body")).expect("pointer JSON");
    let parts = body.as_array().expect("a JSON array");
    assert_eq!(parts.len(), 2, "{body}");
    assert_eq!(parts[0], "software.amazon.payloadoffloading.PayloadS3Pointer");
    let location = parts[1].as_object().expect("a location object");
    let mut names: Vec<&str> = location.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["s3BucketName", "s3Key"]);
    let attributes = message.message_attributes.as_ref().expect("attributes");
    assert!(attributes.len() <= 10);
    let size = &attributes["ExtendedPayloadSize"];
    assert_eq!(size.data_type, "Number");
    assert!(
        !attributes.contains_key("SQSLargePayloadSize"),
        "write the new name only"
    );
    let key = location["s3Key"].as_str().expect("key").to_owned();
    let uuid = key.strip_prefix("relay/").expect("the configured prefix");
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4", "a version 4 UUID: {uuid}");
    Pointer {
        bucket: location["s3BucketName"].as_str().expect("bucket").to_owned(),
        key,
        size: size
            .string_value
            .as_deref()
            .and_then(|s| s.parse().ok())
            .expect("a size"),
    }
}

#[tokio::test]
async fn a_1_5_mb_event_is_stored_in_s3_and_a_pointer_in_the_extended_client_format_is_queued() {
    // GIVEN a receiver with a bucket for large events, and an Events API request with a 1.5 MB event
    let app = LargeEventsApp::start("large-15").await;
    let event = events_api_event("big-15", 1_500_000);
    let request = signed_request("/events-api", &format!(r#"{{"events":[{event}]}}"#));
    let started = Instant::now();
    // WHEN it is posted
    let answer = app.app.send(&request).await;
    // THEN it is 200 inside Akeneo's 500 ms, with one pointer queued as the spec writes it,
    // with the event's attributes
    let took = started.elapsed();
    assert_eq!((answer.status, &answer.body["queued"]), (200, &Value::from(1)));
    assert!(took < Duration::from_millis(500), "answered after {took:?}");
    let queued = app.app.queued().await;
    assert_eq!(queued.len(), 1);
    let pointer = assert_pointer(&queued[0]);
    assert_eq!(string_attribute(&queued[0], "id").as_deref(), Some("big-15"));
    assert_eq!(
        string_attribute(&queued[0], "protocol").as_deref(),
        Some("events-api")
    );
    // AND the object is the envelope a small event's message would be, the event byte for byte
    let stored = String::from_utf8(app.stored(&pointer).await).expect("utf-8");
    assert_eq!(pointer.size, stored.len());
    assert_eq!(raw_event_of(&stored), event);
    let envelope: Value = serde_json::from_str(&stored).expect("envelope");
    assert_eq!(
        (envelope["v"].as_u64(), envelope["id"].as_str()),
        (Some(1), Some("big-15"))
    );
}

#[tokio::test]
async fn a_5_mb_event_is_stored_while_the_requests_other_events_are_queued_as_usual() {
    // GIVEN a receiver with a bucket, and an Event Platform batch of a small, a 5 MB and a small event
    let app = LargeEventsApp::start("large-5").await;
    let large = large_cloud_event("big-5", 5 * MB);
    let small = |id: &str| large_cloud_event(id, 100);
    let body = format!("[{},{large},{}]", small("small-1"), small("small-2"));
    // WHEN it is posted
    let answer = app.app.post_event_platform(body.as_bytes()).await;
    // THEN all three are queued: two envelopes and one pointer to the 5 MB one
    assert_eq!(answer.status, 200, "{}", answer.body);
    let queued = app.app.queued().await;
    assert_eq!(queued.len(), 3);
    let (pointers, envelopes): (Vec<&Message>, Vec<&Message>) = queued
        .iter()
        .partition(|m| string_attribute(m, "id").as_deref() == Some("big-5"));
    for envelope in envelopes {
        let raw = raw_event_of(envelope.body.as_deref().expect("body"));
        assert!(raw == small("small-1") || raw == small("small-2"));
    }
    let pointer = assert_pointer(pointers[0]);
    let stored = String::from_utf8(app.stored(&pointer).await).expect("utf-8");
    assert!(stored.len() > 5 * MB);
    assert_eq!(raw_event_of(&stored), large);
}

/// Business logic that records the SHA-256 of each event's raw bytes, and
/// rejects while told to.
#[derive(Default)]
struct Recording {
    rejecting: AtomicBool,
    seen: Mutex<HashMap<String, String>>,
}

/// The business logic the processor holds; the test keeps the other handle.
struct Recorder(Arc<Recording>);

impl EventHandler for Recorder {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let id = event.id.clone().unwrap_or_default();
        self.0
            .seen
            .lock()
            .expect("lock")
            .insert(id, sha256_hex(event.raw.get().as_bytes()));
        if self.0.rejecting.load(Ordering::SeqCst) {
            return Outcome::Reject("no SKU".into());
        }
        Outcome::Done
    }
}

/// A processor on `queue_url` and `dlq_url`, reading large events through `s3`.
async fn processor(
    logic: &Arc<Recording>,
    s3: aws_sdk_s3::Client,
    queue_url: &str,
    dlq_url: &str,
) -> Processor<Recorder, SqsQueue, SqsQueue> {
    let moto_sdk = moto::sdk().await;
    Processor::new(
        Recorder(Arc::clone(logic)),
        SqsQueue::new(&moto_sdk, dlq_url),
        SqsQueue::new(&moto_sdk, queue_url),
        Settings::default(),
    )
    .with_payload_store(Arc::new(S3PayloadStore::from_client(s3, "")), true)
}

/// Receives the queued messages and hands them over as Lambda would, deleting
/// those not reported failed; answers the received messages and the ids
/// reported failed.
async fn run_batch(
    processor: &Processor<Recorder, SqsQueue, SqsQueue>,
    queue_url: &str,
) -> (Vec<Message>, Vec<String>) {
    let sqs = moto::sqs().await;
    let messages = moto::receive(&sqs, queue_url, 30).await;
    assert!(!messages.is_empty(), "nothing queued");
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(sqs_record).collect();
    let response = handle_sqs_event(processor, event)
        .await
        .expect("a batch response");
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    for message in &messages {
        if !failed.contains(message.message_id.as_ref().expect("id")) {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle.clone().expect("handle"))
                .send()
                .await
                .expect("delete");
        }
    }
    (messages, failed)
}

/// A large event put on a queue with a DLQ by the real receiver: (queue, dlq, event, pointer).
async fn queued_large_event(app: &LargeEventsApp, name: &str, id: &str) -> (String, String, String, Pointer) {
    let sqs = moto::sqs().await;
    let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, name, 5).await;
    let store = S3PayloadStore::new(&moto::sdk().await, &app.bucket);
    let sender = crate::support::app::sender(&moto::sdk().await, &queue_url);
    let receiver = ReceiverApp::with_queue(sender, queue_url.clone())
        .await
        .storing_large_events_in(store);
    let event = large_cloud_event(id, 1_500_000);
    assert_eq!(receiver.post_event_platform(event.as_bytes()).await.status, 200);
    let peek = moto::receive(&sqs, &queue_url, 0).await;
    let pointer = assert_pointer(&peek[0]);
    (queue_url, dlq_url, event, pointer)
}

#[tokio::test]
async fn the_processor_hands_the_business_logic_the_exact_original_bytes_and_then_deletes_the_object() {
    // GIVEN a 1.5 MB event queued by the receiver as a pointer
    let app = LargeEventsApp::start("large-process").await;
    let (queue_url, dlq_url, event, pointer) = queued_large_event(&app, "large-process", "big-p").await;
    let logic = Arc::new(Recording::default());
    let processor = processor(&logic, moto::s3().await, &queue_url, &dlq_url).await;
    // WHEN the processor handles the batch
    let (_, failed) = run_batch(&processor, &queue_url).await;
    // THEN the business logic saw the event's exact bytes, and the object is gone
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        logic.seen.lock().expect("lock").get("big-p"),
        Some(&sha256_hex(event.as_bytes()))
    );
    assert_eq!(moto::object(&app.s3, &app.bucket, &pointer.key).await, None);
}

#[tokio::test]
async fn a_pointer_whose_object_is_missing_is_dead_lettered_at_once_with_a_clear_reason() {
    // GIVEN a queued pointer whose object was deleted
    let app = LargeEventsApp::start("large-missing").await;
    let (queue_url, dlq_url, _, pointer) = queued_large_event(&app, "large-missing", "big-m").await;
    app.s3
        .delete_object()
        .bucket(&app.bucket)
        .key(&pointer.key)
        .send()
        .await
        .expect("delete");
    let logic = Arc::new(Recording::default());
    let processor = processor(&logic, moto::s3().await, &queue_url, &dlq_url).await;
    // WHEN the processor handles it
    let (received, failed) = run_batch(&processor, &queue_url).await;
    // THEN it is dead-lettered on its first receive, still a pointer, saying why
    assert!(failed.is_empty(), "dead-lettered, so reported done: {failed:?}");
    assert!(logic.seen.lock().expect("lock").is_empty());
    let dead = moto::drain(&moto::sqs().await, &dlq_url).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, received[0].body);
    assert_pointer(&dead[0]);
    assert_eq!(
        string_attribute(&dead[0], "error_code").as_deref(),
        Some("payload_missing")
    );
    assert!(
        string_attribute(&dead[0], "error_message")
            .is_some_and(|m| m.contains(&pointer.key) && m.contains("no longer")),
        "{:?}",
        string_attribute(&dead[0], "error_message")
    );
}

#[tokio::test]
async fn a_dead_lettered_large_event_is_redriven_as_a_pointer_and_read_again_byte_for_byte() {
    // GIVEN business logic that rejects a queued 1.5 MB event to the DLQ
    let app = LargeEventsApp::start("large-redrive").await;
    let (queue_url, dlq_url, event, pointer) = queued_large_event(&app, "large-redrive", "big-r").await;
    let logic = Arc::new(Recording {
        rejecting: AtomicBool::new(true),
        ..Recording::default()
    });
    let processor = processor(&logic, moto::s3().await, &queue_url, &dlq_url).await;
    run_batch(&processor, &queue_url).await;
    assert!(
        moto::object(&app.s3, &app.bucket, &pointer.key).await.is_some(),
        "kept for the redrive"
    );
    // WHEN the cause is fixed, the DLQ is redriven, and the processor runs again
    logic.rejecting.store(false, Ordering::SeqCst);
    logic.seen.lock().expect("lock").clear();
    let sqs = moto::sqs().await;
    shared::adapters::aws::redrive::redrive(&sqs, &dlq_url, &queue_url)
        .await
        .expect("redrive");
    let waited = crate::support::wait::until("the redriven pointer is back", Duration::from_secs(30), || {
        let sqs = sqs.clone();
        let queue_url = queue_url.clone();
        async move { (moto::queue_counts(&sqs, &queue_url).await.0 > 0).then_some(()) }
    });
    waited.await;
    let (redriven, failed) = run_batch(&processor, &queue_url).await;
    // THEN it came back as a pointer and the business logic saw the exact bytes again
    assert_pointer(&redriven[0]);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        logic.seen.lock().expect("lock").get("big-r"),
        Some(&sha256_hex(event.as_bytes()))
    );
}

#[tokio::test]
async fn with_s3_unavailable_the_processor_retries_the_pointer_and_keeps_it_on_the_queue() {
    // GIVEN a queued pointer, and a processor whose S3 endpoint refuses connections
    let app = LargeEventsApp::start("large-s3-down").await;
    let (queue_url, dlq_url, _, pointer) = queued_large_event(&app, "large-s3-down", "big-d").await;
    let logic = Arc::new(Recording::default());
    let down = s3_at(&moto::refused_endpoint()).await;
    let processor = processor(&logic, down, &queue_url, &dlq_url).await;
    // WHEN the processor handles it
    let (received, failed) = run_batch(&processor, &queue_url).await;
    // THEN it is reported failed (retried later), nothing is dead-lettered, and the object is kept
    assert_eq!(failed, [received[0].message_id.clone().expect("id")]);
    assert!(logic.seen.lock().expect("lock").is_empty());
    assert!(moto::drain(&moto::sqs().await, &dlq_url).await.is_empty());
    assert_eq!(moto::queue_counts(&moto::sqs().await, &queue_url).await, (0, 1));
    assert!(moto::object(&app.s3, &app.bucket, &pointer.key).await.is_some());
}

#[tokio::test]
async fn with_s3_refusing_connections_the_events_api_gets_503_inside_500_ms() {
    // GIVEN a receiver whose S3 endpoint refuses connections
    let app = LargeEventsApp::with_s3_at("large-refused-ea", &moto::refused_endpoint()).await;
    let request = signed_request(
        "/events-api",
        &format!(r#"{{"events":[{}]}}"#, events_api_event("big-ea", 2 * MB)),
    );
    let started = Instant::now();
    // WHEN a request with a 2 MB event is posted
    let answer = app.app.send(&request).await;
    // THEN it is 503 payload_store_unavailable in time, without internals, and no pointer is queued
    let took = started.elapsed();
    assert_eq!(
        (answer.status, answer.error()),
        (503, "payload_store_unavailable")
    );
    assert!(took < Duration::from_millis(500), "answered after {took:?}");
    assert!(!answer.body.to_string().contains("127.0.0.1"), "{}", answer.body);
    assert!(app.app.queued().await.is_empty());
}

#[tokio::test]
async fn with_s3_hanging_the_events_api_gets_503_inside_500_ms() {
    // GIVEN a receiver whose S3 endpoint accepts connections and never answers
    let app = LargeEventsApp::with_s3_at("large-hung-ea", &moto::hanging_endpoint().await).await;
    let request = signed_request(
        "/events-api",
        &format!(r#"{{"events":[{}]}}"#, events_api_event("big-ea", 2 * MB)),
    );
    let started = Instant::now();
    // WHEN a request with a 2 MB event is posted
    let answer = app.app.send(&request).await;
    // THEN it is 503 in time
    let took = started.elapsed();
    assert_eq!(
        (answer.status, answer.error()),
        (503, "payload_store_unavailable")
    );
    assert!(took < Duration::from_millis(500), "answered after {took:?}");
}

#[tokio::test]
async fn with_s3_refusing_connections_the_event_platform_gets_429_inside_5_s() {
    // GIVEN a receiver whose S3 endpoint refuses connections
    let app = LargeEventsApp::with_s3_at("large-refused-ep", &moto::refused_endpoint()).await;
    let request = signed_request("/event-platform", &large_cloud_event("big-ep", 2 * MB));
    let started = Instant::now();
    // WHEN a 2 MB CloudEvent is posted
    let answer = app.app.send(&request).await;
    // THEN it is 429, so Akeneo slows down and retries, in time
    assert_eq!(
        (answer.status, answer.error()),
        (429, "payload_store_unavailable")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
}

/// The Python extended client's interpreter, installed by scripts/install-tools.
fn extended_client_python() -> std::path::PathBuf {
    let python = root().join(".tools/sqs-extended-client/bin/python");
    assert!(
        python.exists(),
        "the Python SQS Extended Client is missing: run scripts/install-tools (scripts/test does)"
    );
    python
}

#[tokio::test]
async fn the_official_python_extended_client_reads_a_large_event_our_receiver_queued() {
    // GIVEN a 2 MB event queued by the receiver as a pointer
    let app = LargeEventsApp::start("large-python").await;
    let event = large_cloud_event("big-py", 2 * MB);
    assert_eq!(app.app.post_event_platform(event.as_bytes()).await.status, 200);
    let sqs = moto::sqs().await;
    let pointer = assert_pointer(&moto::receive(&sqs, &app.app.queue_url, 0).await[0]);
    let stored = app.stored(&pointer).await;
    // WHEN a consumer built on amazon-sqs-extended-client receives it
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let script = root().join("tests/python/extended_client_receive.py");
    let queue_url = app.app.queue_url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(extended_client_python())
            .arg(script)
            .arg(queue_url)
            .env("AWS_DEFAULT_REGION", region)
            .output()
            .expect("python runs")
    })
    .await
    .expect("joined");
    // THEN the library resolved the pointer to our stored message, byte for byte, and kept our attributes
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let read: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(read["bytes"], stored.len());
    assert_eq!(read["sha256"], sha256_hex(&stored));
    assert_eq!(read["attributes"], serde_json::json!(["id", "protocol", "type"]));
    assert_eq!(read["receipt_handle_carries_pointer"], true);
    assert_eq!(raw_event_of(std::str::from_utf8(&stored).expect("utf-8")), event);
}
