//! Per-batch overhead of the processor: parse 10 queue messages, group them by
//! entity, dispatch each to a no-op handler, collect dispositions. No network.
//! Then the same batch with idempotency against the embedded store: claims,
//! entity times read, completions and entity times recorded.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use akeneo_event_relay::adapters::embedded::{EmbeddedIdempotencyStore, EmbeddedQueue};
use akeneo_event_relay::core::body::split_events;
use akeneo_event_relay::core::message::OutboundMessage;
use akeneo_event_relay::core::processor::idempotency::DEFAULT_WINDOW;
use akeneo_event_relay::core::processor::{Processor, Settings};
use akeneo_event_relay::ports::queue::ReceivedMessage;
use akeneo_event_relay::{EventHandler, Outcome, PimEvent, Protocol};
use criterion::{Criterion, criterion_group, criterion_main};

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

    // Every iteration carries new event ids (as new deliveries do), so each
    // claim is taken, completed and recorded rather than found a duplicate.
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let idempotent =
        Processor::new(NoOp, queue(), queue(), Settings::default()).with_idempotency(store, DEFAULT_WINDOW);
    let round = AtomicU64::new(0);
    let fresh = |records: &[ReceivedMessage]| -> Vec<ReceivedMessage> {
        let n = round.fetch_add(1, Ordering::Relaxed);
        records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let mut record = record.clone();
                let body = record.body.take().unwrap_or_default();
                let id = format!("bench-{n}-{i}");
                record.body = Some(replace_id(&body, &id));
                record
            })
            .collect()
    };
    c.bench_function(
        "process/10 messages no-op handler, idempotency (embedded store)",
        |b| {
            b.iter_batched(
                || fresh(&records),
                |batch| runtime.block_on(idempotent.process_batch(black_box(&batch))),
                criterion::BatchSize::SmallInput,
            )
        },
    );
}

/// The envelope's `"id":"…"` replaced by `id` (same length or not).
fn replace_id(body: &str, id: &str) -> String {
    let start = body.find(r#""id":""#).expect("an id") + 6;
    let end = start + body[start..].find('"').expect("closing quote");
    format!("{}{id}{}", &body[..start], &body[end..])
}

criterion_group!(benches, process);
criterion_main!(benches);
