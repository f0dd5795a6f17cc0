//! Runs one SQS batch through the processor with business logic that panics on
//! one event, and prints the partial batch response. The release_binaries test
//! builds it with `cargo lambda build --release`, the profile `sam build` uses,
//! to prove a panic fails only its own message there too.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use shared::adapters::embedded::EmbeddedQueue;
use shared::core::processor::{Processor, Settings};
use shared::edges::lambda::sqs_event::handle_sqs_event;
use shared::{EventHandler, Outcome, PimEvent};

struct PanicsOnBoom;

impl EventHandler for PanicsOnBoom {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        if event.id.as_deref() == Some("boom") {
            panic!("business logic bug");
        }
        Outcome::Done
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
    // Nothing is dead-lettered in this batch; the queues only take the retry's
    // visibility change.
    let queue = || EmbeddedQueue::new("local", Duration::from_secs(30));
    let settings = Settings {
        concurrency: 4,
        ..Settings::default()
    };
    let processor = Processor::new(PanicsOnBoom, queue(), queue(), settings);
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
