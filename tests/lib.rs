//! Helpers for the integration tests: a real SQS API (moto, started by
//! `scripts/test`), Akeneo-style signing, and Function URL request events.

use std::path::PathBuf;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use base64::Engine;
use ring::hmac;
use serde_json::json;

/// The SQS endpoint `scripts/test` started. Without it the tests fail rather
/// than skip: a suite that silently skips its SQS tests proves nothing.
pub fn sqs_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts a local SQS API (moto)",
    )
}

pub async fn sqs_client() -> Client {
    sqs_endpoint();
    Client::new(&shared::aws::sdk_config().await)
}

/// A fresh queue per test, so tests can run in parallel.
pub async fn create_queue(client: &Client, name: &str) -> String {
    let name = format!("{name}-{}-{}", std::process::id(), unique());
    let created = client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("moto creates queues");
    created.queue_url.expect("queue url")
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Every message on the queue, received (and so hidden) once each.
pub async fn drain(client: &Client, queue_url: &str) -> Vec<Message> {
    let mut all = Vec::new();
    loop {
        let received = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive from moto");
        let batch = received.messages.unwrap_or_default();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

pub fn string_attribute(message: &Message, name: &str) -> Option<String> {
    message
        .message_attributes
        .as_ref()?
        .get(name)?
        .string_value
        .clone()
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

pub fn fixture(relative: &str) -> Vec<u8> {
    let path = fixtures_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn fixture_files(folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir().join(folder))
        .expect("fixtures folder")
        .map(|entry| format!("{folder}/{}", entry.expect("entry").file_name().to_string_lossy()))
        .collect();
    files.sort();
    files
}

pub fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()));
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.sign())
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Headers the PIM sends with an Events API request signed now.
pub fn events_api_headers(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let timestamp = now_unix().to_string();
    let signature = hmac_hex(secret, &[timestamp.as_bytes(), b".", body]);
    vec![
        ("x-akeneo-request-timestamp".into(), timestamp),
        ("x-akeneo-request-signature".into(), signature),
        ("content-type".into(), "application/json".into()),
        ("user-agent".into(), "AkeneoPIM/7.0".into()),
    ]
}

/// Headers the Event Platform sends, one signature per given secret.
pub fn event_platform_headers(secrets: &[&str], body: &[u8]) -> Vec<(String, String)> {
    let mut headers = vec![
        ("x-akeneo-signature-algorithm".into(), "HmacSHA256".into()),
        ("content-type".into(), "application/cloudevents+json".into()),
    ];
    for (secret, header) in secrets
        .iter()
        .zip(["x-akeneo-signature-primary", "x-akeneo-signature-secondary"])
    {
        headers.push((header.into(), hmac_hex(secret, &[body])));
    }
    headers
}

/// A request as a Lambda Function URL delivers it (payload format 2.0), parsed
/// by lambda_http exactly as the deployed function parses it. Binary bodies
/// arrive base64-encoded; `base64` forces that for any body.
pub fn function_url_request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    base64: bool,
) -> lambda_http::Request {
    let headers: serde_json::Map<String, serde_json::Value> =
        headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let (body, encoded) = if body.is_empty() && !base64 {
        (serde_json::Value::Null, false)
    } else if base64 {
        (
            json!(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        )
    } else {
        (json!(std::str::from_utf8(body).expect("text body")), false)
    };
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnop",
            "domainName": "abcdefghijklmnop.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefghijklmnop",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "AkeneoPIM/7.0"
            },
            "requestId": "5b6f1b2e-1111-2222-3333-444455556666",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:04:00:00 +0000",
            "timeEpoch": 1795406400000u64
        },
        "body": body,
        "isBase64Encoded": encoded
    });
    lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses Function URL events")
}

/// The `event` member of a queue message, as raw text: everything after
/// `"event":` up to the envelope's closing brace.
pub fn raw_event_of(message_body: &str) -> &str {
    let start = message_body.find(r#","event":"#).expect("envelope has an event") + r#","event":"#.len();
    message_body[start..]
        .strip_suffix('}')
        .expect("envelope ends with }")
}

/// What Lambda's event source mapping hands the processor for a received
/// message: id, receipt handle, body, receive count and string attributes.
pub fn lambda_sqs_message(message: &Message) -> aws_lambda_events::sqs::SqsMessage {
    let mut record = aws_lambda_events::sqs::SqsMessage::default();
    record.message_id = message.message_id.clone();
    record.receipt_handle = message.receipt_handle.clone();
    record.body = message.body.clone();
    for (name, value) in message.attributes.iter().flatten() {
        record.attributes.insert(name.as_str().to_owned(), value.clone());
    }
    for (name, value) in message.message_attributes.iter().flatten() {
        let mut attribute = aws_lambda_events::sqs::SqsMessageAttribute::default();
        attribute.string_value = value.string_value.clone();
        attribute.data_type = Some(value.data_type.clone());
        record.message_attributes.insert(name.clone(), attribute);
    }
    record
}

/// A queue with a dead-letter queue behind it, as the template deploys them.
pub async fn create_queue_with_dlq(client: &Client, name: &str, max_receive_count: u32) -> (String, String) {
    let dlq = create_queue(client, &format!("{name}-dlq")).await;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dlq arn")
        .attributes
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .expect("arn");
    let queue = create_queue(client, name).await;
    let redrive = json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count.to_string()});
    client
        .set_queue_attributes()
        .queue_url(&queue)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )
        .send()
        .await
        .expect("redrive policy");
    (queue, dlq)
}

/// Receives up to ten messages, hiding them for `visibility_secs`.
pub async fn receive(client: &Client, queue_url: &str, visibility_secs: i32) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_secs)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receive from moto")
        .messages
        .unwrap_or_default()
}

pub async fn queue_counts(client: &Client, queue_url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
    };
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let count = |name| attributes.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0);
    (
        count(ApproximateNumberOfMessages),
        count(ApproximateNumberOfMessagesNotVisible),
    )
}

/// An HTTP client for the tests. In a workspace build reqwest may carry the
/// CLI's `rustls-no-provider` feature, so ring is installed first, as the CLI does.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("HTTP client")
}
