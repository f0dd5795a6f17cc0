//! End to end with the real Lambda binaries, built as `sam build` builds them,
//! running against cargo-lambda's Lambda runtime emulator, with moto as SQS and
//! a small poller in place of Lambda's SQS event source mapping.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relay_tests::*;
use serde_json::{Value, json};

const EA_SECRET: &str = "e2e-events-api-secret";
const EP_SECRET: &str = "e2e-event-platform-secret";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// cargo-lambda's venv bin first on PATH: it links with the zig its package brings.
fn tools_path() -> String {
    let tools = root().join(".tools/cargo-lambda/bin");
    assert!(
        tools.join("cargo-lambda").exists(),
        "cargo-lambda is missing: run scripts/test, which installs it"
    );
    format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    )
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

fn wait_for_port(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn build_binaries() {
    for binary in ["receiver", "processor"] {
        let status = Command::new("cargo")
            .args(["lambda", "build", "--release", "--bin", binary])
            .env("PATH", tools_path())
            .current_dir(root())
            .status()
            .expect("cargo lambda build runs");
        assert!(status.success(), "cargo lambda build --bin {binary} failed");
    }
}

fn start_function(name: &str, port: u16, env: &[(&str, String)], log: &Path) -> Running {
    let binary = root().join(format!("target/lambda/{name}/bootstrap"));
    let mut command = Command::new(binary);
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

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// Events API events written as the PIM writes them (escaped slashes and
/// non-ASCII), so their exact bytes are known.
fn events_api_event(n: usize) -> String {
    format!(
        r#"{{"action":"product.updated","event_id":"e2e-ea-{n}","event_datetime":"2026-11-23T10:00:0{n}+00:00","author":"julia","author_type":"ui","pim_source":"https:\/\/demo.akeneo.com","data":{{"resource":{{"identifier":"sku-{n}","values":{{"name":[{{"locale":"fr_FR","scope":null,"data":"Lunettes \u00e9t\u00e9 {n}"}}]}}}}}}}}"#
    )
}

struct Sent {
    /// event id -> sha256 of its exact bytes
    events: HashMap<String, String>,
}

async fn send_requests(http: &reqwest::Client, port: u16) -> Sent {
    let mut events = HashMap::new();
    let base = format!("http://127.0.0.1:{port}/lambda-url/receiver");

    let batch: Vec<String> = (0..3).map(events_api_event).collect();
    let body = format!(r#"{{"events":[{}]}}"#, batch.join(","));
    let mut request = http.post(format!("{base}/events-api")).body(body.clone());
    for (name, value) in events_api_headers(EA_SECRET, body.as_bytes()) {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("receiver answers");
    assert_eq!(
        response.status().as_u16(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    for (n, event) in batch.iter().enumerate() {
        events.insert(format!("e2e-ea-{n}"), sha256_hex(event.as_bytes()));
    }

    for file in fixture_files("event-platform") {
        let fixture = fixture(&file);
        let text = String::from_utf8(fixture).expect("utf-8");
        // A fresh id per fixture (some share one), the rest byte for byte.
        let id: String = serde_json::from_str::<Value>(&text).expect("json")["id"]
            .as_str()
            .expect("id")
            .into();
        let fresh = format!("e2e-{}", file.replace(['/', '.'], "-"));
        let body = text.replacen(&id, &fresh, 1);
        let mut request = http.post(format!("{base}/event-platform")).body(body.clone());
        for (name, value) in event_platform_headers(&[EP_SECRET], body.as_bytes()) {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("receiver answers");
        assert_eq!(
            response.status().as_u16(),
            200,
            "{file}: {}",
            response.text().await.unwrap_or_default()
        );
        events.insert(fresh, sha256_hex(body.trim().as_bytes()));
    }
    Sent { events }
}

/// What the event source mapping hands the function, as JSON.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                .collect();
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

/// Receive, invoke the processor, delete what it did not report failed; until
/// the queue stays empty.
async fn poll_until_drained(http: &reqwest::Client, port: u16, queue_url: &str) -> usize {
    let client = sqs_client().await;
    let invoke = format!("http://127.0.0.1:{port}/2015-03-31/functions/processor/invocations");
    let mut handled = 0;
    let mut empty_rounds = 0;
    while empty_rounds < 3 {
        let messages = receive(&client, queue_url, 30).await;
        if messages.is_empty() {
            empty_rounds += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        empty_rounds = 0;
        let response = http
            .post(&invoke)
            .body(sqs_event(&messages).to_string())
            .send()
            .await
            .expect("invoke");
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("batch response");
        let failed: HashSet<&str> = answer["batchItemFailures"]
            .as_array()
            .expect("a partial batch response")
            .iter()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        assert!(failed.is_empty(), "nothing in this run should fail: {answer}");
        for message in &messages {
            if !failed.contains(message.message_id.as_deref().unwrap_or_default()) {
                client
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle.clone().expect("handle"))
                    .send()
                    .await
                    .expect("delete");
            }
        }
        handled += messages.len();
    }
    handled
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_binaries_relay_every_event_from_both_protocols_and_lose_none() {
    let client = sqs_client().await;
    let (queue_url, dlq_url) = create_queue_with_dlq(&client, "e2e", 3).await;
    build_binaries();

    let port = free_port();
    let _emulator = Running(
        Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .env("PATH", tools_path())
            .current_dir(root())
            .stdout(Stdio::null())
            .spawn()
            .expect("cargo lambda watch starts"),
    );
    wait_for_port(port, Duration::from_secs(30));

    let logs = tempdir();
    let receiver_log = logs.join("receiver.log");
    let processor_log = logs.join("processor.log");
    let _receiver = start_function(
        "receiver",
        port,
        &[
            ("QUEUE_URL", queue_url.clone()),
            ("EVENTS_API_SECRETS", EA_SECRET.into()),
            ("EVENT_PLATFORM_SECRETS", EP_SECRET.into()),
        ],
        &receiver_log,
    );
    let _processor = start_function(
        "processor",
        port,
        &[
            ("QUEUE_URL", queue_url.clone()),
            ("DEAD_LETTER_QUEUE_URL", dlq_url.clone()),
        ],
        &processor_log,
    );

    let http = http_client(Duration::from_secs(30));
    let sent = send_requests(&http, port).await;
    // A message no receiver would write: the processor must dead-letter it at once.
    client
        .send_message()
        .queue_url(&queue_url)
        .message_body("not a relay envelope")
        .send()
        .await
        .expect("send");

    let handled = poll_until_drained(&http, port, &queue_url).await;
    assert!(
        handled > sent.events.len(),
        "{handled} messages for {} events + 1",
        sent.events.len()
    );

    let log = std::fs::read_to_string(&processor_log).expect("processor log");
    let mut processed: HashMap<String, String> = HashMap::new();
    let mut outcomes: Vec<String> = Vec::new();
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
    for (id, hash) in &sent.events {
        assert_eq!(
            processed.get(id),
            Some(hash),
            "event {id} not processed exactly as sent\n{log}"
        );
    }
    assert_eq!(
        processed.len(),
        sent.events.len(),
        "only the events sent were processed"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "done").count(),
        sent.events.len()
    );
    assert_eq!(outcomes.iter().filter(|o| *o == "dead_lettered").count(), 1);

    let dead = drain(&client, &dlq_url).await;
    assert_eq!(dead.len(), 1, "only the malformed message is dead-lettered");
    assert_eq!(dead[0].body.as_deref(), Some("not a relay envelope"));
    assert_eq!(
        string_attribute(&dead[0], "error_code").as_deref(),
        Some("invalid_envelope")
    );
    assert_eq!(
        queue_counts(&client, &queue_url).await,
        (0, 0),
        "nothing left behind, nothing lost"
    );
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("relay-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
