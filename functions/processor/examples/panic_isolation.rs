//! Runs one SQS batch through the processor with business logic that panics on
//! one event, and prints the partial batch response. `tests/release_panic.rs`
//! builds it with `cargo lambda build --release`, the profile `sam build` uses,
//! to prove a panic fails only its own message there too.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use shared::config::ProcessorConfig;
use shared::event::PimEvent;
use shared::processor::lambda::handle_sqs_event;
use shared::processor::{EventHandler, Outcome, Processor};
use shared::queue::{BatchEntry, BatchReport, QueueSender, SendError, VisibilityChange, VisibilityChanger};

struct PanicsOnBoom;

impl EventHandler for PanicsOnBoom {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        if event.id.as_deref() == Some("boom") {
            panic!("business logic bug");
        }
        Outcome::Done
    }
}

/// Nothing is dead-lettered in this batch; visibility changes are accepted.
struct NoQueue;

impl QueueSender for NoQueue {
    async fn send_batch<'a>(&'a self, _: &'a [BatchEntry<'a>]) -> Result<BatchReport, SendError> {
        Err(SendError {
            detail: "no dead-letter queue in this example".into(),
        })
    }
}

impl VisibilityChanger for NoQueue {
    async fn change_visibility<'a>(
        &'a self,
        _: &'a [VisibilityChange<'a>],
    ) -> Result<Vec<String>, SendError> {
        Ok(Vec::new())
    }
}

fn message(message_id: &str, event_id: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(message_id.into());
    message.receipt_handle = Some(format!("rh-{message_id}"));
    message.body = Some(format!(
        r#"{{"v":1,"protocol":"event-platform","id":"{event_id}","type":"com.akeneo.pim.v1.product.updated","occurred_at":null,"source":null,"received_at":null,"event":{{"data":{{"product":{{"uuid":"u-{event_id}"}}}}}}}}"#
    ));
    message
}

#[tokio::main]
async fn main() {
    let config = ProcessorConfig {
        queue_url: "q".into(),
        dead_letter_queue_url: "dlq".into(),
        concurrency: 4,
        backoff_cap: Duration::from_secs(900),
    };
    let processor = Processor::new(&config, PanicsOnBoom, NoQueue, NoQueue);
    let mut event = SqsEvent::default();
    event.records = vec![
        message("m1", "fine-1"),
        message("m2", "boom"),
        message("m3", "fine-2"),
    ];
    match handle_sqs_event(&processor, event).await {
        Ok(response) => match serde_json::to_string(&response) {
            Ok(json) => println!("{json}"),
            Err(error) => eprintln!("cannot print the response: {error}"),
        },
        Err(error) => eprintln!("invocation failed: {error}"),
    }
}
