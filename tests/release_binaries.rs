//! The real release binaries, built once as `sam build` builds them: the two
//! Lambdas end to end under cargo-lambda's runtime emulator with moto as SQS,
//! and the panic proof under the release profile.

use std::collections::HashMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::akeneo::{event_platform_headers, events_api_headers, sha256_hex};
use crate::support::moto::{self, string_attribute};
use crate::support::release::{binary, cargo};
use crate::support::{fixture, fixture_files, wait};

const EA_SECRET: &str = "e2e-events-api-secret";
const EP_SECRET: &str = "e2e-event-platform-secret";

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

/// A 1.5 MB CloudEvent (a product with a long localised description), escaped
/// and non-ASCII text included.
fn large_event(id: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"e2e","time":"2026-11-23T10:00:00Z","data":{{"product":{{"uuid":"uuid-{id}","values":{{"description":[{{"locale":"fr_FR","data":"{}"}}]}}}}}}}}"#,
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

/// (event id -> raw_sha256) of "event received" lines, and every outcome.
fn read_processor_log(path: &Path) -> (HashMap<String, String>, Vec<String>) {
    let log = std::fs::read_to_string(path).expect("processor log");
    let mut processed = HashMap::new();
    let mut outcomes = Vec::new();
    for line in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        match line["message"].as_str() {
            Some("event received") => {
                let id = line["event_id"].as_str().unwrap_or_default().to_owned();
                processed.insert(id, line["raw_sha256"].as_str().unwrap_or_default().to_owned());
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

#[tokio::test(flavor = "multi_thread")]
async fn the_real_binaries_relay_every_event_of_both_protocols_byte_for_byte_and_lose_none() {
    // GIVEN both release binaries attached to the runtime emulator, on a moto queue with a DLQ
    // and a bucket for large events
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
    ];
    let _processor = function("processor", port, &processor_env, &processor_log);

    // WHEN events of both protocols (one of them 1.5 MB) go through the receiver's
    // Function URL, a message no receiver wrote lands on the queue, and the
    // processor drains it
    let http = crate::support::http_client(Duration::from_secs(30));
    let sent = send_through_the_receiver(&http, port).await;
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("not a relay envelope")
        .send()
        .await
        .expect("send");
    process_all(&http, port, &queue_url, sent.len() + 1).await;

    // THEN the business logic saw every event exactly as sent, once, ...
    let (processed, outcomes) = read_processor_log(&processor_log);
    for (id, hash) in &sent {
        assert_eq!(
            processed.get(id),
            Some(hash),
            "event {id} not processed exactly as sent"
        );
    }
    assert_eq!(processed.len(), sent.len(), "only the events sent were processed");
    assert_eq!(outcomes.iter().filter(|o| *o == "done").count(), sent.len());
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
