//! The real release binaries, built once as `sam build` builds them: the two
//! Lambdas end to end under cargo-lambda's runtime emulator with moto as SQS
//! and Secrets Manager and the PIM test server as the PIM, and the panic proof
//! under the release profile.

use std::collections::HashMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use shared::Protocol;
use shared::adapters::aws::redrive::redrive;
use shared::core::body::split_events;
use shared::core::message::OutboundMessage;

use crate::support::akeneo::{event_platform_headers, events_api_headers, sha256_hex};
use crate::support::moto::{self, create_secret, string_attribute};
use crate::support::pim::{self, PimServer};
use crate::support::release::{binary, cargo};
use crate::support::{fixture, fixture_files, wait};

const EA_SECRET: &str = "e2e-events-api-secret";
const EP_SECRET: &str = "e2e-event-platform-secret";
/// The product of the Event Platform fixtures, which the PIM test server knows.
const KNOWN_PRODUCT: &str = "6a9f8486-2c36-4680-b87f-6f5f8f01b6cf";
const GONE_PRODUCT: &str = "ffffffff-0000-4000-8000-00000000e2e0";

#[test]
fn a_panic_fails_only_its_message_in_a_cargo_lambda_release_build() {
    // GIVEN business logic that panics on one of three events, built with
    // cargo-lambda's release profile (which defaults to panic = "abort")
    let program = binary("panic_isolation");
    // WHEN it processes the batch
    let run = Command::new(&program).output().expect("the program runs");
    // THEN the process survives and only the panicking message is reported failed
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the process died: {:?}\n{stderr}",
        run.status
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m2"}]}"#,
        "stderr: {stderr}"
    );
}

/// Kills the process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn listening(port: u16) {
    wait::until(
        "the runtime emulator listens",
        Duration::from_secs(30),
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(drop)
        },
    )
    .await;
}

/// cargo-lambda's runtime emulator, serving the Runtime API and Function URLs.
fn emulator(port: u16) -> Running {
    let child = cargo()
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("cargo lambda watch starts");
    Running(child)
}

/// A release bootstrap attached to the emulator, as Lambda starts it.
fn function(name: &str, port: u16, env: &[(&str, String)], log: &Path) -> Running {
    let mut command = Command::new(binary(name));
    command
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt/{name}"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .stdout(Stdio::from(File::create(log).expect("log file")))
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    Running(command.spawn().expect("the function starts"))
}

/// Events API events written as the PIM writes them (escaped slashes and
/// non-ASCII), so their exact bytes are known.
fn events_api_event(n: usize) -> String {
    format!(
        r#"{{"action":"product.updated","event_id":"e2e-ea-{n}","event_datetime":"2026-11-23T10:00:0{n}+00:00","author":"julia","author_type":"ui","pim_source":"https:\/\/demo.akeneo.com","data":{{"resource":{{"identifier":"sku-{n}","values":{{"name":[{{"locale":"fr_FR","scope":null,"data":"Lunettes \u00e9t\u00e9 {n}"}}]}}}}}}}}"#
    )
}

async fn post(http: &reqwest::Client, url: String, headers: Vec<(String, String)>, body: String) {
    let mut request = http.post(&url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("the receiver answers");
    let status = response.status().as_u16();
    assert_eq!(
        status,
        200,
        "{url}: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Sends three Events API events and every Event Platform fixture through the
/// receiver's Function URL; answers event id -> SHA-256 of its exact bytes.
async fn send_through_the_receiver(http: &reqwest::Client, port: u16) -> HashMap<String, String> {
    let base = format!("http://127.0.0.1:{port}/lambda-url/receiver");
    let mut sent = HashMap::new();
    let batch: Vec<String> = (0..3).map(events_api_event).collect();
    let body = format!(r#"{{"events":[{}]}}"#, batch.join(","));
    post(
        http,
        format!("{base}/events-api"),
        events_api_headers(EA_SECRET, body.as_bytes()),
        body,
    )
    .await;
    for (n, event) in batch.iter().enumerate() {
        sent.insert(format!("e2e-ea-{n}"), sha256_hex(event.as_bytes()));
    }
    for file in fixture_files("event-platform") {
        let text = String::from_utf8(fixture(&file)).expect("utf-8");
        // A fresh id per fixture (some share one), the rest byte for byte.
        let id: String = serde_json::from_str::<Value>(&text).expect("json")["id"]
            .as_str()
            .expect("id")
            .into();
        let fresh = format!("e2e-{}", file.replace(['/', '.'], "-"));
        let body = text.replacen(&id, &fresh, 1);
        let headers = event_platform_headers(&[EP_SECRET], body.as_bytes());
        sent.insert(fresh, sha256_hex(body.trim().as_bytes()));
        post(http, format!("{base}/event-platform"), headers, body).await;
    }
    // One event too large for an SQS message: it goes through S3.
    let large = large_event("e2e-large");
    let headers = event_platform_headers(&[EP_SECRET], large.as_bytes());
    sent.insert("e2e-large".into(), sha256_hex(large.as_bytes()));
    post(http, format!("{base}/event-platform"), headers, large).await;
    sent
}

/// An Event Platform product event by `author`, signed and sent; answers its
/// exact bytes' SHA-256.
async fn send_product_event(http: &reqwest::Client, port: u16, id: &str, uuid: &str, author: &str) -> String {
    let body = format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"e2e","time":"2026-11-23T10:00:00Z","data":{{"product":{{"uuid":"{uuid}"}},"author":{{"identifier":"{author}","type":"api"}}}}}}"#
    );
    let headers = event_platform_headers(&[EP_SECRET], body.as_bytes());
    let url = format!("http://127.0.0.1:{port}/lambda-url/receiver/event-platform");
    post(http, url, headers, body.clone()).await;
    sha256_hex(body.as_bytes())
}

/// A 1.5 MB CloudEvent (a product with a long localised description), escaped
/// and non-ASCII text included.
fn large_event(id: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"e2e","time":"2026-11-23T10:00:00Z","data":{{"product":{{"uuid":"{KNOWN_PRODUCT}","values":{{"description":[{{"locale":"fr_FR","data":"{}"}}]}}}}}}}}"#,
        "Lunettes d'\\u00e9t\\u00e9 \u{e9}t\u{e9} ".repeat(50_000)
    )
}

/// What the event source mapping hands the function, as JSON.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> =
                m.attributes.iter().flatten().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect();
            let message_attributes: serde_json::Map<String, Value> = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), json!({"stringValue": v.string_value, "dataType": v.data_type})))
                .collect();
            json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                "attributes": attributes, "messageAttributes": message_attributes,
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:e2e", "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Plays the event source mapping: receive, invoke the processor, delete what it
/// did not report failed, until `expected` messages were handled.
async fn process_all(http: &reqwest::Client, port: u16, queue_url: &str, expected: usize) {
    let sqs = moto::sqs().await;
    let invoke = format!("http://127.0.0.1:{port}/2015-03-31/functions/processor/invocations");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut handled = 0;
    while handled < expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {handled} of {expected} messages processed"
        );
        let messages = moto::receive(&sqs, queue_url, 30).await;
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let response = http
            .post(&invoke)
            .body(sqs_event(&messages).to_string())
            .send()
            .await
            .expect("invoke");
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("batch response");
        let failed = answer["batchItemFailures"]
            .as_array()
            .expect("a partial batch response");
        assert!(failed.is_empty(), "nothing in this run should fail: {answer}");
        for message in &messages {
            let receipt = message.receipt_handle.clone().expect("handle");
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .send()
                .await
                .expect("delete");
        }
        handled += messages.len();
    }
}

/// How many times the business logic ran each event ("event received"
/// lines), and how many duplicates were logged as such.
fn runs_and_duplicates(path: &Path) -> (HashMap<String, usize>, usize) {
    let log = std::fs::read_to_string(path).expect("processor log");
    let mut runs = HashMap::new();
    let mut duplicates = 0;
    for line in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if line["message"] == "event received" {
            let id = line["event_id"].as_str().unwrap_or_default().to_owned();
            *runs.entry(id).or_insert(0) += 1;
        }
        if line["duplicate"] == true && line["level"] == "INFO" {
            duplicates += 1;
        }
    }
    (runs, duplicates)
}

/// The business logic's "event received" lines by event id, and every outcome.
fn read_processor_log(path: &Path) -> (HashMap<String, Value>, Vec<String>) {
    let log = std::fs::read_to_string(path).expect("processor log");
    let mut processed = HashMap::new();
    let mut outcomes = Vec::new();
    for line in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        match line["message"].as_str() {
            Some("event received") => {
                let id = line["event_id"].as_str().unwrap_or_default().to_owned();
                processed.insert(id, line);
            }
            Some("message processed") => {
                outcomes.push(line["outcome"].as_str().unwrap_or_default().to_owned())
            }
            _ => {}
        }
    }
    (processed, outcomes)
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relay-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The UUID of the PIM connection's user, as the Event Platform writes it in
/// `data.author.identifier`.
const CONNECTION_USER_UUID: &str = "7d3c0e4a-2b1f-4c5d-8e9f-0a1b2c3d4e5f";

#[tokio::test(flavor = "multi_thread")]
async fn the_real_binaries_relay_every_event_of_both_protocols_byte_for_byte_and_lose_none() {
    // GIVEN both release binaries attached to the runtime emulator, on a moto queue with a DLQ
    // and a bucket for large events,
    // the processor enriching from a PIM with its connection's credentials in a secret
    let pim = PimServer::start(pim::Config::default(), &[KNOWN_PRODUCT], &[]).await;
    let credentials = json!({
        "client_id": pim::CLIENT_ID, "client_secret": pim::CLIENT_SECRET,
        "username": pim::USERNAME, "password": pim::PASSWORD,
    });
    let pim_secret = create_secret("e2e-pim-connection", &credentials.to_string()).await;
    let sqs = moto::sqs().await;
    let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, "e2e", 3).await;
    let s3 = moto::s3().await;
    let bucket = moto::create_bucket(&s3, "e2e").await;
    let port = free_port();
    let _emulator = emulator(port);
    listening(port).await;
    let logs = temp_dir();
    let processor_log = logs.join("processor.log");
    let receiver_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("EVENTS_API_SECRETS", EA_SECRET.into()),
        ("EVENT_PLATFORM_SECRETS", EP_SECRET.into()),
        ("PAYLOAD_BUCKET", bucket.clone()),
    ];
    let _receiver = function("receiver", port, &receiver_env, &logs.join("receiver.log"));
    let processor_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ("PIM_URL", pim.url.clone()),
        ("PIM_SECRET_ARN", pim_secret),
        ("PIM_USER_UUID", CONNECTION_USER_UUID.into()),
    ];
    let _processor = function("processor", port, &processor_env, &processor_log);

    // WHEN events of both protocols (one of them 1.5 MB) go through the
    // receiver's Function URL (one about a product the PIM no longer has, one
    // the relay's own connection caused), a message no receiver wrote lands on
    // the queue, and the processor drains it
    let http = crate::support::http_client(Duration::from_secs(30));
    let mut sent = send_through_the_receiver(&http, port).await;
    let gone = send_product_event(&http, port, "e2e-gone", GONE_PRODUCT, "julia").await;
    sent.insert("e2e-gone".into(), gone);
    // The Event Platform names the author by the user's UUID, not its username.
    send_product_event(&http, port, "e2e-own", KNOWN_PRODUCT, CONNECTION_USER_UUID).await;
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("not a relay envelope")
        .send()
        .await
        .expect("send");
    process_all(&http, port, &queue_url, sent.len() + 2).await;

    // THEN the business logic saw every event exactly as sent, once, but its own, ...
    let (processed, outcomes) = read_processor_log(&processor_log);
    for (id, hash) in &sent {
        assert_eq!(
            processed.get(id).and_then(|line| line["raw_sha256"].as_str()),
            Some(hash.as_str()),
            "event {id} not processed exactly as sent"
        );
    }
    assert_eq!(processed.len(), sent.len(), "only the events sent were processed");
    assert_eq!(outcomes.iter().filter(|o| *o == "done").count(), sent.len() + 1);
    // ... with the current product for product events (none for deletions and
    // other entities), read with one token and no more than one call at a time, ...
    for (id, line) in &processed {
        let kind = line["entity"].as_str().unwrap_or_default();
        let expected = match (kind, line["action"].as_str(), line["uuid"].as_str()) {
            ("product", Some("Deleted"), _) => None,
            ("product", _, Some(GONE_PRODUCT)) => Some("gone"),
            ("product", _, Some(_)) => Some("found"),
            _ => None,
        };
        assert_eq!(line["current"].as_str(), expected, "{id}: {line}");
    }
    let counts = pim.counts();
    assert_eq!(counts.password_grants, 1, "{counts:?}");
    assert!(counts.searches >= 1 && counts.gets == 0, "{counts:?}");
    assert_eq!(counts.max_in_flight, 1, "the default limit per instance");
    // ... the foreign message is dead-lettered with its reason, and nothing is left behind
    assert_eq!(outcomes.iter().filter(|o| *o == "dead_lettered").count(), 1);
    let dead = moto::drain(&sqs, &dlq_url).await;
    assert_eq!(dead.len(), 1, "only the malformed message is dead-lettered");
    assert_eq!(dead[0].body.as_deref(), Some("not a relay envelope"));
    assert_eq!(
        string_attribute(&dead[0], "error_code").as_deref(),
        Some("invalid_envelope")
    );
    assert_eq!(moto::queue_counts(&sqs, &queue_url).await, (0, 0));
    let objects = s3.list_objects_v2().bucket(&bucket).send().await.expect("list");
    assert_eq!(
        objects.key_count(),
        Some(0),
        "the large event's object is deleted once done"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_processor_runs_an_event_sent_twice_and_redriven_once_only_once() {
    // GIVEN both release binaries on a moto queue with a DLQ, the processor with an idempotency table
    let sqs = moto::sqs().await;
    let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, "e2e-idem", 3).await;
    let table = moto::create_idempotency_table("e2e-idem").await;
    let port = free_port();
    let _emulator = emulator(port);
    listening(port).await;
    let logs = temp_dir();
    let processor_log = logs.join("processor-idempotency.log");
    let receiver_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("EVENT_PLATFORM_SECRETS", EP_SECRET.into()),
    ];
    let _receiver = function(
        "receiver",
        port,
        &receiver_env,
        &logs.join("receiver-idempotency.log"),
    );
    let processor_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ("IDEMPOTENCY_TABLE", table),
    ];
    let _processor = function("processor", port, &processor_env, &processor_log);
    let http = crate::support::http_client(Duration::from_secs(30));
    let text = String::from_utf8(fixture("event-platform/product.updated.json")).expect("utf-8");
    let id = serde_json::from_str::<Value>(&text).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let body = text.replacen(&id, "e2e-idempotent-1", 1);
    let url = format!("http://127.0.0.1:{port}/lambda-url/receiver/event-platform");

    // WHEN Akeneo delivers the same event twice, the processor drains the queue, ...
    for _ in 0..2 {
        let headers = event_platform_headers(&[EP_SECRET], body.as_bytes());
        post(&http, url.clone(), headers, body.clone()).await;
    }
    process_all(&http, port, &queue_url, 2).await;
    // ... and a copy of its message is redriven from the dead-letter queue and processed
    let queued = moto::drain(&sqs, &dlq_url).await;
    assert!(queued.is_empty(), "nothing was dead-lettered");
    let events = split_events(Protocol::EventPlatform, body.as_bytes()).expect("the body splits");
    let dead_letter = OutboundMessage::build(
        Protocol::EventPlatform,
        events[0].raw,
        &events[0].fields,
        "2026-11-23T04:00:00.000Z",
    );
    sqs.send_message()
        .queue_url(&dlq_url)
        .message_body(&dead_letter.body)
        .send()
        .await
        .expect("send to the DLQ");
    redrive(&sqs, &dlq_url, &queue_url).await.expect("redrive");
    process_all(&http, port, &queue_url, 1).await;

    // THEN the business logic ran the event once; the two copies were logged as duplicates
    let (runs, duplicates) = runs_and_duplicates(&processor_log);
    assert_eq!(runs.get("e2e-idempotent-1"), Some(&1), "runs: {runs:?}");
    assert_eq!(duplicates, 2);
    assert_eq!(moto::queue_counts(&sqs, &queue_url).await, (0, 0));
}

/// An Event Platform product event of `kind` by `author`, as Akeneo writes it.
fn product_event_body(id: &str, kind: &str, uuid: &str, author: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.{kind}","source":"pim","subject":"e2e","time":"2026-11-23T10:00:00Z","data":{{"product":{{"uuid":"{uuid}"}},"author":{{"identifier":"{author}","type":"api"}}}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_processor_publishes_each_event_once_to_an_eventbridge_bus() {
    // GIVEN both release binaries on a moto queue, the processor publishing to
    // a bus whose rule sends product updates to a team's queue
    let sqs = moto::sqs().await;
    let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, "e2e-bus", 3).await;
    let table = moto::create_idempotency_table("e2e-bus").await;
    let s3 = moto::s3().await;
    let bucket = moto::create_bucket(&s3, "e2e-bus").await;
    let (bus, team_queue) = moto::create_bus_with_rule_to_queue("e2e-bus", &["product.updated"]).await;
    let port = free_port();
    let _emulator = emulator(port);
    listening(port).await;
    let logs = temp_dir();
    let receiver_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("EVENT_PLATFORM_SECRETS", EP_SECRET.into()),
        ("PAYLOAD_BUCKET", bucket.clone()),
    ];
    let _receiver = function("receiver", port, &receiver_env, &logs.join("receiver-bus.log"));
    let processor_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ("IDEMPOTENCY_TABLE", table),
        ("DESTINATION", "eventbridge".into()),
        ("EVENT_BUS", bus),
        ("PIM_IGNORE_AUTHORS", CONNECTION_USER_UUID.into()),
    ];
    let _processor = function("processor", port, &processor_env, &logs.join("processor-bus.log"));
    let http = crate::support::http_client(Duration::from_secs(30));
    let url = format!("http://127.0.0.1:{port}/lambda-url/receiver/event-platform");

    // WHEN Akeneo delivers an update twice, an update the relay's own
    // connection caused, a deletion, and a 1.5 MB update, and the processor
    // drains the queue
    let update = product_event_body("e2e-bus-1", "updated", KNOWN_PRODUCT, "julia");
    let own = product_event_body("e2e-bus-own", "updated", KNOWN_PRODUCT, CONNECTION_USER_UUID);
    let deletion = product_event_body("e2e-bus-deleted", "deleted", KNOWN_PRODUCT, "julia");
    let large = large_event("e2e-bus-large");
    for body in [&update, &update, &own, &deletion, &large] {
        let headers = event_platform_headers(&[EP_SECRET], body.as_bytes());
        post(&http, url.clone(), headers, body.clone()).await;
    }
    process_all(&http, port, &queue_url, 5).await;

    // THEN the team's queue holds the update once and the large update, nothing else
    let delivered: HashMap<String, Value> = moto::drain(&sqs, &team_queue)
        .await
        .iter()
        .map(|message| {
            let entry: Value =
                serde_json::from_str(message.body.as_deref().unwrap_or_default()).expect("an entry");
            (
                entry["detail"]["event_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                entry,
            )
        })
        .collect();
    let mut ids: Vec<&str> = delivered.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["e2e-bus-1", "e2e-bus-large"]);
    // AND the update's entry says what it is without parsing the event, and carries it whole
    let entry = &delivered["e2e-bus-1"];
    assert_eq!(entry["source"], "akeneo.pim");
    assert_eq!(entry["detail-type"], "product.updated");
    let detail = &entry["detail"];
    assert_eq!(detail["version"], 1);
    assert_eq!(detail["protocol"], "event-platform");
    assert_eq!(detail["event_type"], "com.akeneo.pim.v1.product.updated");
    assert_eq!(detail["keys"]["uuid"], KNOWN_PRODUCT);
    assert_eq!(
        detail["event"],
        serde_json::from_str::<Value>(&update).expect("json")
    );
    // AND the large one points to its stored copy, which holds the event byte for byte
    let pointer = &delivered["e2e-bus-large"]["detail"]["event_pointer"];
    assert_eq!(delivered["e2e-bus-large"]["detail"]["event"], Value::Null);
    assert_eq!(pointer["s3_bucket"], bucket.as_str());
    let key = pointer["s3_key"].as_str().expect("a key");
    let stored = moto::object(&s3, &bucket, key).await.expect("the object is kept");
    let envelope = String::from_utf8(stored).expect("utf-8");
    let event = shared::PimEvent::from_message_body(&envelope).expect("the relay's envelope");
    assert_eq!(
        sha256_hex(event.raw.get().as_bytes()),
        sha256_hex(large.as_bytes())
    );
    assert!(
        moto::drain(&sqs, &dlq_url).await.is_empty(),
        "nothing dead-lettered"
    );

    // AND the Python consumer example reads both from a team's queue, the large one from S3
    for entry in delivered.values() {
        sqs.send_message()
            .queue_url(&team_queue)
            .message_body(entry.to_string())
            .send()
            .await
            .expect("send");
    }
    let consumer = Command::new(crate::support::release::root().join(".tools/moto/bin/python"))
        .arg(crate::support::release::root().join("examples/python-consumer/consumer.py"))
        .args([
            "--queue-url",
            &team_queue,
            "--max-messages",
            "2",
            "--idle-seconds",
            "10",
        ])
        .output()
        .expect("the consumer runs");
    let printed = String::from_utf8_lossy(&consumer.stdout);
    assert!(
        consumer.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&consumer.stderr)
    );
    assert!(
        printed.contains("product.updated event_id=e2e-bus-1 protocol=event-platform"),
        "{printed}"
    );
    assert!(
        printed.contains("event_id=e2e-bus-large protocol=event-platform")
            && printed.contains(&format!("event_from=s3://{bucket}/{key}")),
        "{printed}"
    );
}

const NOTIFICATION_SECRET: &str = "e2e-notification-secret";

/// A signed Event Platform notification of `kind`, stamped now, to the
/// receiver's Function URL.
async fn notify(http: &reqwest::Client, port: u16, kind: &str) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    let body = format!(
        r#"{{"notification_type":"{kind}","timestamp":"{now}","subscription_id":"e2e-sub","subscriber_id":"e2e","destination":"https://relay.example/event-platform","events":[]}}"#
    );
    let signature = shared::core::signature::event_platform::sign(NOTIFICATION_SECRET, body.as_bytes());
    let headers = vec![
        ("X-AKENEO-SIGNATURE-PRIMARY".to_owned(), signature),
        ("X-AKENEO-SIGNATURE-ALGORITHM".to_owned(), "HmacSHA256".to_owned()),
    ];
    let url = format!("http://127.0.0.1:{port}/lambda-url/receiver/event-platform/notifications");
    post(http, url, headers, body).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_binaries_catch_up_a_resumed_subscriptions_window_by_themselves() {
    // GIVEN both release binaries on a moto queue, the processor with an idempotency table
    // and a PIM connection, and a subscription suspended now
    let pim = PimServer::start(pim::Config::default(), &[], &[]).await;
    let sqs = moto::sqs().await;
    let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, "e2e-resume", 3).await;
    let table = moto::create_idempotency_table("e2e-resume").await;
    let port = free_port();
    let _emulator = emulator(port);
    listening(port).await;
    let logs = temp_dir();
    let processor_log = logs.join("processor-resume.log");
    let receiver_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("EVENT_PLATFORM_SECRETS", EP_SECRET.into()),
        ("EVENT_PLATFORM_NOTIFICATION_SECRET", NOTIFICATION_SECRET.into()),
    ];
    let _receiver = function("receiver", port, &receiver_env, &logs.join("receiver-resume.log"));
    let processor_env = [
        ("QUEUE_URL", queue_url.clone()),
        ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ("IDEMPOTENCY_TABLE", table),
        ("PIM_URL", pim.url.clone()),
        ("PIM_CLIENT_ID", pim::CLIENT_ID.into()),
        ("PIM_CLIENT_SECRET", pim::CLIENT_SECRET.into()),
        ("PIM_USERNAME", pim::USERNAME.into()),
        ("PIM_PASSWORD", pim::PASSWORD.into()),
    ];
    let _processor = function("processor", port, &processor_env, &processor_log);
    let http = crate::support::http_client(Duration::from_secs(30));
    notify(&http, port, "subscription.suspended.system").await;
    // AND five products updated in the PIM while it is suspended
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    let uuids: Vec<String> = (0..5)
        .map(|n| format!("00000000-0000-4000-8000-0000000e2e0{n}"))
        .collect();
    pim.put_products(uuids.iter().map(|uuid| (uuid.clone(), now.clone())));

    // WHEN it is resumed, and the processor drains the queue: the two notifications'
    // jobs, a page job per slice (16 per entity), and the five products' events
    notify(&http, port, "subscription.resumed").await;
    process_all(&http, port, &queue_url, 2 + 32 + 5).await;

    // THEN the business logic saw each product once, as a catch-up event with its product
    let (processed, outcomes) = read_processor_log(&processor_log);
    for uuid in &uuids {
        let line = processed
            .values()
            .find(|line| line["uuid"] == uuid.as_str())
            .unwrap_or_else(|| panic!("{uuid} not caught up: {processed:?}"));
        assert_eq!(
            (line["protocol"].as_str(), line["current"].as_str()),
            (Some("catch-up"), Some("found"))
        );
    }
    assert_eq!(processed.len(), 5);
    assert!(outcomes.iter().all(|o| o == "done"), "{outcomes:?}");
    assert_eq!(moto::queue_counts(&sqs, &queue_url).await, (0, 0));
    assert!(moto::drain(&sqs, &dlq_url).await.is_empty());
}
