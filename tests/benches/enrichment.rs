//! Enrichment overhead per batch: the same batch of product events through
//! the processor without a PIM, and with the PIM test server on localhost
//! (answering at once), so the difference is the relay's own cost: token
//! (cached), one search call, JSON, matching. A real PIM adds its own latency
//! on top, once per batch.

#[path = "../support/events.rs"]
mod events;
#[path = "../support/pim.rs"]
mod pim;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::adapters::akeneo::{ConnectionSettings, PimClient};
use shared::config::Credentials;
use shared::core::processor::{Processor, Settings};
use shared::ports::pim::PimReader;
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use shared::{EventHandler, Outcome, PimEvent};

struct NoOp;

impl EventHandler for NoOp {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        black_box(&event.current);
        Outcome::Done
    }
}

fn processor() -> Processor<NoOp, MemoryQueue, MemoryVisibility> {
    Processor::new(
        NoOp,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
}

fn enrichment(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let uuids: Vec<String> = (0..100)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let known: Vec<&str> = uuids.iter().map(String::as_str).collect();
    let server = runtime.block_on(pim::PimServer::start(pim::Config::default(), &known, &[]));
    let credentials = Credentials {
        client_id: pim::CLIENT_ID.into(),
        client_secret: pim::CLIENT_SECRET.into(),
        username: pim::USERNAME.into(),
        password: pim::PASSWORD.into(),
    };
    let client = runtime.block_on(async {
        PimClient::new(&server.url, &credentials, ConnectionSettings::default()).expect("client")
    });
    let plain = processor();
    let enriching = processor().with_pim(Arc::new(client) as Arc<dyn PimReader>, Duration::from_secs(20));

    for size in [10, 100] {
        let batch: Vec<_> = uuids[..size]
            .iter()
            .map(|uuid| events::product_updated(&format!("e-{uuid}"), uuid))
            .collect();
        // Warm: the token and the connection, as after the first batch.
        runtime.block_on(enriching.process_batch(&batch));
        let mut group = c.benchmark_group(format!("process/{size} product events"));
        group.bench_function("without enrichment", |b| {
            b.iter(|| runtime.block_on(plain.process_batch(black_box(&batch))))
        });
        group.bench_function("enriched from the local PIM test server", |b| {
            b.iter(|| runtime.block_on(enriching.process_batch(black_box(&batch))))
        });
        group.finish();
    }
    let counts = server.counts();
    eprintln!(
        "PIM test server: {} token call(s), {} search calls, {} gets",
        counts.password_grants, counts.searches, counts.gets
    );
}

criterion_group!(benches, enrichment);
criterion_main!(benches);
