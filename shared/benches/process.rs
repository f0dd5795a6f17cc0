//! Per-batch overhead of the processor: parse 10 queue messages, group them by
//! entity, dispatch each to a no-op handler, collect dispositions. No network.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::adapters::embedded::EmbeddedQueue;
use shared::core::body::split_events;
use shared::core::message::OutboundMessage;
use shared::core::processor::{Processor, Settings};
use shared::ports::queue::ReceivedMessage;
use shared::{EventHandler, Outcome, PimEvent, Protocol};

struct NoOp;

impl EventHandler for NoOp {
    async fn handle(&self, _: &PimEvent) -> Outcome {
        Outcome::Done
    }
}

/// Ten product events from the bulk fixture, as the receiver queues them.
fn batch() -> Vec<ReceivedMessage> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/events-api/bulk-10.product.updated.json"
    );
    let body = std::fs::read(path).expect("bulk fixture");
    split_events(Protocol::EventsApi, &body)
        .expect("fixture splits")
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let message = OutboundMessage::build(
                Protocol::EventsApi,
                event.raw,
                &event.fields,
                "2026-11-23T04:00:00.000Z",
            );
            ReceivedMessage {
                message_id: format!("m-{i}"),
                receipt_handle: Some(format!("rh-{i}")),
                body: Some(message.body),
                receive_count: 1,
                attributes: message
                    .attributes
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<HashMap<_, _>>(),
            }
        })
        .collect()
}

fn process(c: &mut Criterion) {
    // Nothing is retried or dead-lettered: the queues are never called.
    let queue = || EmbeddedQueue::new("unused", Duration::from_secs(30));
    let processor = Processor::new(NoOp, queue(), queue(), Settings::default());
    let records = batch();
    let bytes: usize = records
        .iter()
        .map(|r| r.body.as_ref().map_or(0, String::len))
        .sum();
    eprintln!("batch of {} messages, {bytes} bytes", records.len());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    c.bench_function("process/10 messages no-op handler", |b| {
        b.iter(|| runtime.block_on(processor.process_batch(black_box(&records))))
    });
}

criterion_group!(benches, process);
criterion_main!(benches);
