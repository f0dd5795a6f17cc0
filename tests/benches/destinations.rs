//! What publishing to an event bus adds over the Rust seam: the same batch of
//! product events through the processor with a business logic that does
//! nothing, and with the EventBridge publisher on an in-memory bus that only
//! counts. The difference is the relay's own cost per event (the document,
//! grouping, results); EventBridge's latency comes on top, once per ten
//! events. Also prints the calls made per event.

#[path = "../support/events.rs"]
mod events;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::core::destination::publisher::BusPublisher;
use shared::core::processor::{Processor, Settings};
use shared::testing::bus::CountingBus;
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use shared::{EventHandler, Outcome, PimEvent};

struct NoOp;

impl EventHandler for NoOp {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        black_box(&event.raw);
        Outcome::Done
    }
}

fn processor<H: EventHandler>(logic: H) -> Processor<H, MemoryQueue, MemoryVisibility> {
    Processor::new(
        logic,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
}

fn destinations(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bus = Arc::new(CountingBus::default());
    let rust_seam = processor(NoOp);
    let publishing = processor(BusPublisher::new(bus.clone()));
    for size in [10, 100] {
        let batch: Vec<_> = (0..size)
            .map(|i| events::product_updated(&format!("e-{i}"), &format!("00000000-0000-4000-8000-{i:012}")))
            .collect();
        let before = bus.counts();
        runtime.block_on(publishing.process_batch(&batch));
        let after = bus.counts();
        println!(
            "{size} events: {} PutEvents call(s), {} entries",
            after.0 - before.0,
            after.1 - before.1
        );
        let mut group = c.benchmark_group(format!("process/{size} product events"));
        group.bench_function("Rust seam (logic does nothing)", |b| {
            b.iter(|| runtime.block_on(rust_seam.process_batch(black_box(&batch))))
        });
        group.bench_function("published to a bus (in memory)", |b| {
            b.iter(|| runtime.block_on(publishing.process_batch(black_box(&batch))))
        });
        group.finish();
    }
}

criterion_group!(benches, destinations);
criterion_main!(benches);
