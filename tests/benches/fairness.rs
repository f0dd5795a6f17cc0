//! Fair share between tenants, in process: the embedded queue (which takes
//! tenants' message groups in turn, as an SQS fair queue aims to) drained by
//! two pollers through the real processor, business logic taking 5 ms an
//! event. Tenant b sends a steady trickle; its delay from queued to the
//! business logic is measured idle, behind tenant a's backlog of 10,000
//! events, and behind the same backlog in one message group (no tenants:
//! what a single-tenant queue would do).
//!
//! `cargo bench -p relay-tests --bench fairness`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::Protocol;
use shared::adapters::embedded::EmbeddedQueue;
use shared::core::message::{EventFields, OutboundMessage};
use shared::core::processor::{Processor, Settings};
use shared::edges::queue_poller::{PollStats, poll_once};
use shared::{EventHandler, Outcome, PimEvent};
use tokio::time::Instant;

const WORK: Duration = Duration::from_millis(5);
const POLLERS: usize = 2;
const BATCH: usize = 10;
const BACKLOG: usize = 10_000;
const TRICKLE: usize = 200;
const TRICKLE_EVERY: Duration = Duration::from_millis(10);

/// Takes `WORK` per event; records how long each of b's waited.
struct Logic {
    queued_at: Mutex<HashMap<String, Instant>>,
    delays: Mutex<Vec<Duration>>,
}

impl EventHandler for Logic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let id = event.id.clone().unwrap_or_default();
        if id.starts_with("b-") {
            let queued = self.queued_at.lock().expect("lock").get(&id).copied();
            if let Some(queued) = queued {
                self.delays.lock().expect("lock").push(queued.elapsed());
            }
        }
        tokio::time::sleep(WORK).await;
        Outcome::Done
    }
}

fn message(tenant: Option<&str>, id: &str) -> (String, HashMap<String, String>) {
    let raw = format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"s","time":"2026-12-07T10:00:00Z","data":{{"product":{{"uuid":"{id}"}}}}}}"#
    );
    let fields = EventFields {
        id: Some(id.to_owned()),
        kind: Some("com.akeneo.pim.v1.product.updated".to_owned()),
        ..EventFields::default()
    };
    let built = OutboundMessage::build_for_tenant(tenant, Protocol::EventPlatform, &raw, &fields, "t");
    let attributes = built
        .attributes
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    (built.body, attributes)
}

struct Figures {
    p50: Duration,
    p99: Duration,
    max: Duration,
    seconds: f64,
}

/// `backlog` of a's events queued first, then b's trickle; `tenants`:
/// whether the messages carry their tenant (their message group).
async fn run(backlog: usize, tenants: bool) -> Figures {
    let dlq = Arc::new(EmbeddedQueue::new("dead-letters", Duration::from_secs(30)));
    let queue = Arc::new(
        EmbeddedQueue::new("events", Duration::from_secs(30)).with_dead_letter_queue(Arc::clone(&dlq), 3),
    );
    let logic = Logic {
        queued_at: Mutex::new(HashMap::new()),
        delays: Mutex::new(Vec::new()),
    };
    let processor = Arc::new(Processor::new(
        logic,
        dlq,
        Arc::clone(&queue),
        Settings::default(),
    ));
    for n in 0..backlog {
        let (body, attributes) = message(tenants.then_some("a"), &format!("a-{n}"));
        queue.push(body, attributes);
    }
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = (0..POLLERS)
        .map(|_| {
            let (queue, processor, stop) = (Arc::clone(&queue), Arc::clone(&processor), Arc::clone(&stop));
            tokio::spawn(async move {
                let stats = PollStats::default();
                while !stop.load(Ordering::Relaxed) {
                    let wait = Duration::from_millis(20);
                    let _ = poll_once(
                        &queue,
                        processor.as_ref(),
                        BATCH,
                        wait,
                        Duration::from_secs(30),
                        &stats,
                    )
                    .await;
                }
            })
        })
        .collect();
    for n in 0..TRICKLE {
        let id = format!("b-{n}");
        let (body, attributes) = message(tenants.then_some("b"), &id);
        processor
            .handler()
            .queued_at
            .lock()
            .expect("lock")
            .insert(id, Instant::now());
        queue.push(body, attributes);
        tokio::time::sleep(TRICKLE_EVERY).await;
    }
    while processor.handler().delays.lock().expect("lock").len() < TRICKLE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for poller in pollers {
        let _ = poller.await;
    }
    let mut delays = processor.handler().delays.lock().expect("lock").clone();
    delays.sort();
    let at = |share: f64| delays[((delays.len() as f64 * share).ceil() as usize).clamp(1, delays.len()) - 1];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
        max: at(1.0),
        seconds,
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!(
        "tenant b: {TRICKLE} events, one every {TRICKLE_EVERY:?}; logic {WORK:?} an event; {POLLERS} pollers of {BATCH}"
    );
    for (label, backlog, tenants) in [
        ("idle (b alone)", 0, true),
        ("behind a's backlog, tenants' groups", BACKLOG, true),
        ("behind 5x that backlog, tenants' groups", 5 * BACKLOG, true),
        ("behind a's backlog, one group (no tenants)", BACKLOG, false),
    ] {
        let figures = run(backlog, tenants).await;
        println!(
            "{label:<45} b's delay to the logic: p50 {}  p99 {}  max {}  (run {:.1} s)",
            ms(figures.p50),
            ms(figures.p99),
            ms(figures.max),
            figures.seconds
        );
    }
}
