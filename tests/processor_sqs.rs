//! The processor against a real SQS API (moto): partial batch responses,
//! dead-lettering with reasons, and backoff through visibility changes.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use relay_tests::*;
use serde_json::Value;
use shared::aws::sqs::SqsQueue;
use shared::config::ProcessorConfig;
use shared::event::PimEvent;
use shared::processor::lambda::handle_sqs_event;
use shared::processor::{EventHandler, Outcome, Processor};

/// Business logic scripted by the event id.
struct Scripted;

impl EventHandler for Scripted {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        match event.id.as_deref().unwrap_or_default() {
            "retry-me" => Outcome::Retry("ERP answered 503".into()),
            "reject-me" => Outcome::Reject("product has no SKU".into()),
            "panic-me" => panic!("index out of bounds in the mapping code"),
            _ => Outcome::Done,
        }
    }
}

const EVENTS: [&str; 4] = ["fine", "retry-me", "reject-me", "panic-me"];

/// Queues the four scripted events through the real receiver, plus two bodies
/// no receiver would write.
async fn fill(client: &Client, queue_url: &str) {
    let sdk = shared::aws::sdk_config().await;
    let config = shared::config::ReceiverConfig::from_lookup(|name| match name {
        "QUEUE_URL" => Some(queue_url.to_owned()),
        "EVENT_PLATFORM_SECRETS" => Some("s3cret".to_owned()),
        _ => None,
    })
    .expect("receiver config");
    let receiver = shared::receiver::Receiver::new(&config, SqsQueue::new(&sdk, queue_url));
    for (n, id) in EVENTS.iter().enumerate() {
        let body = format!(
            r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub","time":"2024-02-22T17:31:0{n}Z","data":{{"product":{{"uuid":"uuid-{n}"}}}}}}"#
        );
        let headers = event_platform_headers(&["s3cret"], body.as_bytes());
        let response = shared::receiver::lambda::respond(
            &receiver,
            &function_url_request("POST", "/event-platform", &headers, body.as_bytes(), false),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    for body in ["<not json>", r#"{"v":2,"protocol":"event-platform","event":{}}"#] {
        client
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .message_attributes(
                "type",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("odd")
                    .build()
                    .expect("attribute"),
            )
            .send()
            .await
            .expect("send");
    }
}

fn processor(
    queue_url: &str,
    dlq_url: &str,
    sdk: &shared::aws::SdkConfig,
) -> Processor<Scripted, SqsQueue, SqsQueue> {
    let config = ProcessorConfig {
        queue_url: queue_url.into(),
        dead_letter_queue_url: dlq_url.into(),
        concurrency: 4,
        backoff_cap: Duration::from_secs(900),
    };
    Processor::new(
        &config,
        Scripted,
        SqsQueue::new(sdk, dlq_url),
        SqsQueue::new(sdk, queue_url),
    )
}

/// Receives the whole batch (hidden for 1 s only) and hands it over as Lambda does.
async fn receive_batch(client: &Client, queue_url: &str) -> (SqsEvent, HashMap<String, String>) {
    let mut messages = Vec::new();
    while messages.len() < 6 {
        let received = receive(client, queue_url, 1).await;
        assert!(
            !received.is_empty(),
            "only {} of 6 messages on the queue",
            messages.len()
        );
        messages.extend(received);
    }
    let mut names = HashMap::new();
    for message in &messages {
        let body = message.body.clone().unwrap_or_default();
        let name = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| {
                if body.starts_with('<') {
                    "garbage".into()
                } else {
                    "version-2".into()
                }
            });
        names.insert(message.message_id.clone().expect("id"), name);
    }
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(lambda_sqs_message).collect();
    (event, names)
}

/// Lambda deletes what the response does not name as failed.
async fn delete_successes(client: &Client, queue_url: &str, event: &SqsEvent, failed: &[String]) {
    for record in &event.records {
        if !failed.contains(record.message_id.as_ref().expect("id")) {
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(record.receipt_handle.clone().expect("handle"))
                .send()
                .await
                .expect("delete");
        }
    }
}

#[tokio::test]
async fn a_mixed_batch_gives_partial_failures_dead_letters_with_reasons_and_postponed_retries() {
    let client = sqs_client().await;
    let (queue_url, dlq_url) = create_queue_with_dlq(&client, "proc-mixed", 5).await;
    fill(&client, &queue_url).await;
    let sdk = shared::aws::sdk_config().await;
    let (event, names) = receive_batch(&client, &queue_url).await;

    let response = handle_sqs_event(&processor(&queue_url, &dlq_url, &sdk), event.clone())
        .await
        .expect("response");
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let mut failed_names: Vec<&str> = failed.iter().map(|id| names[id].as_str()).collect();
    failed_names.sort();
    assert_eq!(failed_names, ["panic-me", "retry-me"]);

    let mut dead: Vec<(String, HashMap<String, String>, String)> = drain(&client, &dlq_url)
        .await
        .iter()
        .map(|m| {
            let attributes = [
                "error_code",
                "error_message",
                "original_message_id",
                "receive_count",
                "type",
            ]
            .iter()
            .filter_map(|name| string_attribute(m, name).map(|v| (name.to_string(), v)))
            .collect();
            let original = string_attribute(m, "original_message_id").expect("original id");
            (
                names[&original].clone(),
                attributes,
                m.body.clone().unwrap_or_default(),
            )
        })
        .collect();
    dead.sort_by(|a, b| a.0.cmp(&b.0));
    let codes: Vec<(&str, &str)> = dead
        .iter()
        .map(|(n, a, _)| (n.as_str(), a["error_code"].as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("garbage", "invalid_envelope"),
            ("reject-me", "rejected"),
            ("version-2", "unsupported_version")
        ]
    );
    let rejected = &dead[1];
    assert_eq!(rejected.1["error_message"], "product has no SKU");
    assert_eq!(rejected.1["receive_count"], "1");
    assert_eq!(rejected.1["type"], "com.akeneo.pim.v1.product.updated");
    let original = event
        .records
        .iter()
        .find(|r| names[r.message_id.as_ref().unwrap()] == "reject-me")
        .unwrap();
    assert_eq!(
        Some(&rejected.2),
        original.body.as_ref(),
        "the DLQ keeps the original body verbatim"
    );
    assert_eq!(dead[0].2, "<not json>");

    // Successes and dead-lettered originals are deleted, as Lambda does. The two
    // retried messages were received with a 1 s visibility: unchanged, they would
    // be back after 1 s; the backoff hides them for 5-10 s.
    delete_successes(&client, &queue_url, &event, &failed).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        receive(&client, &queue_url, 30).await.is_empty(),
        "retries are still backing off"
    );
    assert_eq!(
        queue_counts(&client, &queue_url).await,
        (0, 2),
        "both retries still on the queue, hidden"
    );
}

#[tokio::test]
async fn with_the_dead_letter_queue_unreachable_poison_messages_are_reported_failed_not_dropped() {
    let client = sqs_client().await;
    let (queue_url, _) = create_queue_with_dlq(&client, "proc-no-dlq", 5).await;
    fill(&client, &queue_url).await;
    let sdk = shared::aws::sdk_config().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let nowhere = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let dlq_sdk = sdk.clone().into_builder().endpoint_url(&nowhere).build();
    let config = ProcessorConfig {
        queue_url: queue_url.clone(),
        dead_letter_queue_url: format!("{nowhere}/000000000000/dlq"),
        concurrency: 4,
        backoff_cap: Duration::from_secs(900),
    };
    let processor = Processor::new(
        &config,
        Scripted,
        SqsQueue::new(&dlq_sdk, &config.dead_letter_queue_url),
        SqsQueue::new(&sdk, &queue_url),
    );

    let (event, names) = receive_batch(&client, &queue_url).await;
    let response = handle_sqs_event(&processor, event.clone())
        .await
        .expect("a normal partial response");
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let mut failed_names: Vec<&str> = failed.iter().map(|id| names[id].as_str()).collect();
    failed_names.sort();
    assert_eq!(
        failed_names,
        ["garbage", "panic-me", "reject-me", "retry-me", "version-2"]
    );

    delete_successes(&client, &queue_url, &event, &failed).await;
    let (visible, hidden) = queue_counts(&client, &queue_url).await;
    assert_eq!(visible + hidden, 5, "only the handled event left the queue");
}
