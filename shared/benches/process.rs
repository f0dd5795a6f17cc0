//! Per-batch overhead of the processor: parse 10 queue messages, group them by
//! entity, dispatch each to a no-op handler, collect dispositions. No network.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::Protocol;
use shared::config::ProcessorConfig;
use shared::event::PimEvent;
use shared::processor::{EventHandler, Outcome, Processor, Record};
use shared::queue::{
    BatchEntry, BatchReport, OutboundMessage, QueueSender, SendError, VisibilityChange, VisibilityChanger,
};
use shared::receiver::body::split_events;

struct NoOp;

impl EventHandler for NoOp {
    async fn handle(&self, _: &PimEvent) -> Outcome {
        Outcome::Done
    }
}

struct NoQueue;

impl QueueSender for NoQueue {
    async fn send_batch<'a>(&'a self, _: &'a [BatchEntry<'a>]) -> Result<BatchReport, SendError> {
        unreachable!("nothing is dead-lettered in this benchmark")
    }
}

impl VisibilityChanger for NoQueue {
    async fn change_visibility<'a>(
        &'a self,
        _: &'a [VisibilityChange<'a>],
    ) -> Result<Vec<String>, SendError> {
        unreachable!("nothing is retried in this benchmark")
    }
}

/// Ten product events from the bulk fixture, as the receiver queues them.
fn batch() -> Vec<Record> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/events-api/bulk-10.product.updated.json"
    );
    let body = std::fs::read(path).expect("bulk fixture");
    split_events(Protocol::EventsApi, &body)
        .expect("fixture splits")
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let message = OutboundMessage::build(Protocol::EventsApi, event, "2026-11-23T04:00:00.000Z");
            Record {
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
    let config = ProcessorConfig {
        queue_url: "q".into(),
        dead_letter_queue_url: "dlq".into(),
        concurrency: 10,
        backoff_cap: Duration::from_secs(900),
    };
    let processor = Processor::new(&config, NoOp, NoQueue, NoQueue);
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
