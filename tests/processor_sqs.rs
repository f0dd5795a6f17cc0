//! The processor against a real SQS API (moto): partial batch responses,
//! dead-lettering with reasons, and backoff through visibility changes.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use serde_json::Value;
use shared::adapters::aws::sqs::SqsQueue;
use shared::core::processor::{Processor, Settings};
use shared::edges::lambda::sqs_event::handle_sqs_event;
use shared::{EventHandler, Outcome, PimEvent};

use crate::support::app::ReceiverApp;
use crate::support::function_url::sqs_record;
use crate::support::moto::{self, string_attribute};
use crate::support::wait;

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

/// A queue (with its DLQ) holding the four scripted events, queued by the real
/// receiver, and two bodies no receiver writes; and the batch Lambda would
/// hand over, with each message's name.
struct MixedBatch {
    sqs: Client,
    queue_url: String,
    dlq_url: String,
    event: SqsEvent,
    names: HashMap<String, String>,
}

impl MixedBatch {
    async fn start(name: &str) -> MixedBatch {
        let sqs = moto::sqs().await;
        let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, name, 5).await;
        let receiver =
            ReceiverApp::with_queue(SqsQueue::new(&moto::sdk().await, &queue_url), queue_url.clone()).await;
        for (n, id) in EVENTS.iter().enumerate() {
            let body = format!(
                r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub","time":"2024-02-22T17:31:0{n}Z","data":{{"product":{{"uuid":"uuid-{n}"}}}}}}"#
            );
            assert_eq!(receiver.post_event_platform(body.as_bytes()).await.status, 200);
        }
        for body in ["<not json>", r#"{"v":2,"protocol":"event-platform","event":{}}"#] {
            let odd = MessageAttributeValue::builder()
                .data_type("String")
                .string_value("odd")
                .build()
                .expect("attribute");
            sqs.send_message()
                .queue_url(&queue_url)
                .message_body(body)
                .message_attributes("type", odd)
                .send()
                .await
                .expect("send");
        }
        let (event, names) = receive_all(&sqs, &queue_url).await;
        MixedBatch {
            sqs,
            queue_url,
            dlq_url,
            event,
            names,
        }
    }

    /// Runs the batch through `processor` as Lambda would, answering the names
    /// of the messages reported failed, and deletes the others as Lambda does.
    async fn handle(&self, processor: &Processor<Scripted, SqsQueue, SqsQueue>) -> Vec<String> {
        let response = handle_sqs_event(processor, self.event.clone())
            .await
            .expect("a partial batch response");
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        for record in &self.event.records {
            if !failed.contains(record.message_id.as_ref().expect("id")) {
                let receipt = record.receipt_handle.clone().expect("handle");
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .expect("delete");
            }
        }
        let mut names: Vec<String> = failed.iter().map(|id| self.names[id].clone()).collect();
        names.sort();
        names
    }

    /// The dead letters by name, with their attributes and body.
    async fn dead_letters(&self) -> Vec<(String, HashMap<String, String>, String)> {
        let mut dead: Vec<_> = moto::drain(&self.sqs, &self.dlq_url)
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
                .collect::<HashMap<_, _>>();
                let name = self.names[&attributes["original_message_id"]].clone();
                (name, attributes, m.body.clone().unwrap_or_default())
            })
            .collect();
        dead.sort_by(|a, b| a.0.cmp(&b.0));
        dead
    }

    fn body_of(&self, name: &str) -> Option<&String> {
        let record = self
            .event
            .records
            .iter()
            .find(|r| self.names[r.message_id.as_ref().expect("id")] == name)?;
        record.body.as_ref()
    }
}

/// Receives all six messages (hidden for 1 s only) as the event Lambda would hand over.
async fn receive_all(sqs: &Client, queue_url: &str) -> (SqsEvent, HashMap<String, String>) {
    let mut messages = Vec::new();
    while messages.len() < 6 {
        let received = moto::receive(sqs, queue_url, 1).await;
        assert!(
            !received.is_empty(),
            "only {} of 6 messages on the queue",
            messages.len()
        );
        messages.extend(received);
    }
    let names = messages
        .iter()
        .map(|message| {
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
            (message.message_id.clone().expect("id"), name)
        })
        .collect();
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(sqs_record).collect();
    (event, names)
}

fn processor_with_dlq_at(
    sdk: &shared::adapters::aws::SdkConfig,
    dlq: SqsQueue,
    queue_url: &str,
) -> Processor<Scripted, SqsQueue, SqsQueue> {
    let settings = Settings {
        concurrency: 4,
        ..Settings::default()
    };
    Processor::new(Scripted, dlq, SqsQueue::new(sdk, queue_url), settings)
}

async fn processor(batch: &MixedBatch) -> Processor<Scripted, SqsQueue, SqsQueue> {
    let sdk = moto::sdk().await;
    processor_with_dlq_at(&sdk, SqsQueue::new(&sdk, &batch.dlq_url), &batch.queue_url)
}

#[tokio::test]
async fn the_batch_response_names_only_the_retried_and_the_panicked_messages() {
    // GIVEN a mixed batch on moto
    let batch = MixedBatch::start("proc-response").await;
    // WHEN the processor handles it
    let failed = batch.handle(&processor(&batch).await).await;
    // THEN only the retry and the panic are reported failed
    assert_eq!(failed, ["panic-me", "retry-me"]);
}

#[tokio::test]
async fn rejected_and_malformed_messages_land_on_the_dead_letter_queue_with_their_codes() {
    // GIVEN a mixed batch on moto
    let batch = MixedBatch::start("proc-dlq-codes").await;
    // WHEN the processor handles it
    batch.handle(&processor(&batch).await).await;
    // THEN the reject, the garbage and the v2 envelope are dead letters, each with its code
    let codes: Vec<(String, String)> = batch
        .dead_letters()
        .await
        .into_iter()
        .map(|(name, attributes, _)| (name, attributes["error_code"].clone()))
        .collect();
    let expected = [
        ("garbage", "invalid_envelope"),
        ("reject-me", "rejected"),
        ("version-2", "unsupported_version"),
    ];
    assert_eq!(codes, expected.map(|(n, c)| (n.to_owned(), c.to_owned())));
}

#[tokio::test]
async fn a_dead_letter_keeps_the_original_body_verbatim_and_says_why() {
    // GIVEN a mixed batch on moto
    let batch = MixedBatch::start("proc-dlq-body").await;
    // WHEN the processor handles it
    batch.handle(&processor(&batch).await).await;
    // THEN the rejected event's dead letter is its original body with the reason beside it
    let dead = batch.dead_letters().await;
    let (_, attributes, body) = dead
        .iter()
        .find(|(name, _, _)| name == "reject-me")
        .expect("rejected");
    assert_eq!(Some(body), batch.body_of("reject-me"));
    assert_eq!(attributes["error_message"], "product has no SKU");
    assert_eq!(attributes["receive_count"], "1");
    assert_eq!(attributes["type"], "com.akeneo.pim.v1.product.updated");
    let (_, _, garbage) = dead
        .iter()
        .find(|(name, _, _)| name == "garbage")
        .expect("garbage");
    assert_eq!(garbage, "<not json>");
}

#[tokio::test]
async fn retried_messages_stay_hidden_for_their_backoff_instead_of_coming_back_after_one_second() {
    // GIVEN a mixed batch received with a 1 s visibility timeout
    let batch = MixedBatch::start("proc-backoff").await;
    // WHEN the processor handles it (successes and dead letters are deleted)
    batch.handle(&processor(&batch).await).await;
    // THEN the two retries stay hidden well past 1 s: the backoff hides them 5-10 s
    let sqs = &batch.sqs;
    wait::never(
        "a retry came back before its backoff",
        Duration::from_millis(2_500),
        || async { !moto::receive(sqs, &batch.queue_url, 30).await.is_empty() },
    )
    .await;
    assert_eq!(
        moto::queue_counts(sqs, &batch.queue_url).await,
        (0, 2),
        "both retries still on the queue, hidden"
    );
}

#[tokio::test]
async fn with_the_dead_letter_queue_unreachable_poison_messages_are_reported_failed_not_dropped() {
    // GIVEN a mixed batch, and a processor whose DLQ endpoint refuses connections
    let batch = MixedBatch::start("proc-no-dlq").await;
    let sdk = moto::sdk().await;
    let nowhere = moto::refused_endpoint();
    let dlq_sdk = sdk.clone().into_builder().endpoint_url(&nowhere).build();
    let dlq = SqsQueue::new(&dlq_sdk, format!("{nowhere}/000000000000/dlq"));
    let processor = processor_with_dlq_at(&sdk, dlq, &batch.queue_url);
    // WHEN it handles the batch
    let failed = batch.handle(&processor).await;
    // THEN everything but the handled event is reported failed and stays on the queue
    assert_eq!(
        failed,
        ["garbage", "panic-me", "reject-me", "retry-me", "version-2"]
    );
    let (visible, hidden) = moto::queue_counts(&batch.sqs, &batch.queue_url).await;
    assert_eq!(visible + hidden, 5);
}
