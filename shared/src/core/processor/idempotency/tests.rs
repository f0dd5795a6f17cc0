//! Batches through the processor with the idempotency store in memory: what
//! each claim answer, each verdict and each entity time does to an event.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::*;
use crate::adapters::embedded::EmbeddedIdempotencyStore;
use crate::core::event::PimEvent;
use crate::core::message::{EventFields, OutboundMessage};
use crate::core::processor::{Disposition, Processor, Settings};
use crate::core::protocol::Protocol;
use crate::ports::handler::Outcome;
use crate::ports::payload_store::PayloadStore;
use crate::testing::{Behaviour, MemoryQueue, MemoryVisibility, SwitchableStore};

/// Business logic scripted by the event id's prefix (`retry-`, `reject-`,
/// `panic-`); records each event it runs with its stale flag.
#[derive(Default)]
struct Recorder {
    ran: Mutex<Vec<(String, bool)>>,
    /// Overrides the stale policy: every stale event is delivered.
    deliver_stale: bool,
}

impl Recorder {
    fn ran(&self) -> Vec<String> {
        self.ran
            .lock()
            .expect("lock")
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn ran_stale(&self) -> Vec<(String, bool)> {
        self.ran.lock().expect("lock").clone()
    }
}

impl EventHandler for Recorder {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let id = event.id.clone().unwrap_or_default();
        self.ran
            .lock()
            .expect("lock")
            .push((id.clone(), event.is_stale()));
        match id.split('-').next() {
            Some("retry") => Outcome::Retry("downstream unavailable".into()),
            Some("reject") => Outcome::Reject("no SKU".into()),
            Some("panic") => panic!("bug for {id}"),
            _ => Outcome::Done,
        }
    }

    fn stale_policy(&self, event: &PimEvent) -> StalePolicy {
        if self.deliver_stale {
            StalePolicy::Deliver
        } else {
            StalePolicy::default_for(event)
        }
    }
}

/// A message carrying one event about product `uuid`, as the receiver queues it.
fn event_message(
    message_id: &str,
    protocol: Protocol,
    kind: &str,
    id: Option<&str>,
    uuid: &str,
    occurred_at: &str,
) -> ReceivedMessage {
    let raw = match protocol {
        Protocol::EventsApi => format!(r#"{{"data":{{"resource":{{"uuid":"{uuid}"}}}}}}"#),
        Protocol::EventPlatform => format!(r#"{{"data":{{"product":{{"uuid":"{uuid}"}}}}}}"#),
        Protocol::CatchUp => format!(r#"{{"catch_up":{{"run":"r"}},"product":{{"uuid":"{uuid}"}}}}"#),
    };
    let fields = EventFields {
        id: id.map(Into::into),
        kind: Some(kind.into()),
        occurred_at: Some(occurred_at.into()),
        source: None,
    };
    ReceivedMessage {
        message_id: message_id.into(),
        receipt_handle: Some(format!("rh-{message_id}")),
        body: Some(OutboundMessage::build(protocol, &raw, &fields, "t").body),
        receive_count: 1,
        attributes: Default::default(),
    }
}

/// An Event Platform `product.updated` (thin) with this id, at 10:00:00.
fn thin(message_id: &str, id: &str) -> ReceivedMessage {
    event_message(
        message_id,
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.updated",
        Some(id),
        &format!("u-{id}"),
        "2024-01-01T10:00:00Z",
    )
}

/// An Events API `product.updated` (a full snapshot) of product `uuid`.
fn snapshot(message_id: &str, id: &str, uuid: &str, occurred_at: &str) -> ReceivedMessage {
    event_message(
        message_id,
        Protocol::EventsApi,
        "product.updated",
        Some(id),
        uuid,
        occurred_at,
    )
}

fn processor_with(
    handler: Recorder,
    store: Arc<dyn IdempotencyStore>,
) -> Processor<Recorder, MemoryQueue, MemoryVisibility> {
    Processor::new(
        handler,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
    .with_idempotency(store, DEFAULT_WINDOW)
}

fn processor(store: &Arc<EmbeddedIdempotencyStore>) -> Processor<Recorder, MemoryQueue, MemoryVisibility> {
    processor_with(
        Recorder::default(),
        Arc::clone(store) as Arc<dyn IdempotencyStore>,
    )
}

fn names(dispositions: &[Disposition]) -> Vec<&'static str> {
    dispositions.iter().map(Disposition::name).collect()
}

/// Someone else's claim on `key`, in progress until `until`.
async fn claimed_elsewhere(store: &EmbeddedIdempotencyStore, key: &str, until: SystemTime) {
    let claim = Claim {
        key,
        owner: "another-invocation",
        now: SystemTime::now() - Duration::from_secs(120),
        until,
    };
    assert_eq!(store.claim(claim).await, Ok(ClaimOutcome::Claimed));
}

#[tokio::test]
async fn an_event_delivered_again_in_a_later_batch_is_done_without_running() {
    // GIVEN an event handled in a first batch
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    assert_eq!(
        names(&processor.process_batch(&[thin("m1", "e-1")]).await),
        ["done"]
    );
    // WHEN the same event arrives again, in another message
    let again = processor.process_batch(&[thin("m2", "e-1")]).await;
    // THEN it is done, and the business logic ran it once
    assert_eq!(names(&again), ["done"]);
    assert_eq!(processor.handler().ran(), ["e-1"]);
}

#[tokio::test]
async fn the_same_event_twice_in_one_batch_runs_once() {
    // GIVEN a batch carrying e-1 twice (the receiver resent it) and e-2
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let batch = [thin("m1", "e-1"), thin("m2", "e-2"), thin("m3", "e-1")];
    // WHEN it is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN all three messages are done and e-1 ran once
    assert_eq!(names(&dispositions), ["done", "done", "done"]);
    let mut ran = processor.handler().ran();
    ran.sort();
    assert_eq!(ran, ["e-1", "e-2"]);
}

#[tokio::test]
async fn the_same_id_from_the_other_protocol_is_another_event() {
    // GIVEN an Events API event handled
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    processor
        .process_batch(&[snapshot("m1", "e-1", "u1", "2024-01-01T10:00:00+00:00")])
        .await;
    // WHEN an Event Platform event with the same id arrives
    processor.process_batch(&[thin("m2", "e-1")]).await;
    // THEN it runs too
    assert_eq!(processor.handler().ran(), ["e-1", "e-1"]);
}

#[tokio::test]
async fn an_event_without_an_id_runs_every_time() {
    // GIVEN an event without an id, delivered twice
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let message = event_message(
        "m1",
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.updated",
        None,
        "u1",
        "2024-01-01T10:00:00Z",
    );
    // WHEN both deliveries are processed
    processor.process_batch(std::slice::from_ref(&message)).await;
    processor.process_batch(std::slice::from_ref(&message)).await;
    // THEN it ran twice: it cannot be deduplicated
    assert_eq!(processor.handler().ran(), ["", ""]);
}

#[tokio::test]
async fn a_retried_event_is_released_and_runs_again_on_its_next_delivery() {
    // GIVEN business logic asking to retry an event
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let first = processor.process_batch(&[thin("m1", "retry-1")]).await;
    assert_eq!(names(&first), ["retried"]);
    // WHEN the message comes back
    let second = processor.process_batch(&[thin("m1", "retry-1")]).await;
    // THEN the business logic runs it again
    assert_eq!(names(&second), ["retried"]);
    assert_eq!(processor.handler().ran(), ["retry-1", "retry-1"]);
}

#[tokio::test]
async fn a_panicking_event_is_released() {
    // GIVEN business logic that panics on an event
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    processor.process_batch(&[thin("m1", "panic-1")]).await;
    // WHEN the message comes back
    processor.process_batch(&[thin("m1", "panic-1")]).await;
    // THEN it runs again
    assert_eq!(processor.handler().ran(), ["panic-1", "panic-1"]);
}

#[tokio::test]
async fn a_dead_lettered_event_is_released_so_a_redrive_runs_it() {
    // GIVEN business logic that rejects an event: it is dead-lettered
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let first = processor.process_batch(&[thin("m1", "reject-1")]).await;
    assert_eq!(names(&first), ["dead_lettered"]);
    // WHEN a redrive puts it back on the queue
    processor.process_batch(&[thin("m9", "reject-1")]).await;
    // THEN the business logic runs it again
    assert_eq!(processor.handler().ran(), ["reject-1", "reject-1"]);
}

#[tokio::test]
async fn an_event_in_progress_elsewhere_is_retried_without_running() {
    // GIVEN another invocation running e-1 for another minute
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let until = SystemTime::now() + Duration::from_secs(60);
    claimed_elsewhere(&store, "event-platform#e-1", until).await;
    let processor = processor(&store);
    // WHEN e-1 arrives here
    let dispositions = processor.process_batch(&[thin("m1", "e-1")]).await;
    // THEN it is retried later with backoff, and not run now
    assert!(
        matches!(&dispositions[0], Disposition::Retried { reason, .. } if reason.contains("another invocation"))
    );
    assert_eq!(processor.visibility.changes().len(), 1);
    assert!(processor.handler().ran().is_empty());
}

#[tokio::test]
async fn an_expired_claim_of_a_crashed_invocation_is_taken_over() {
    // GIVEN a claim on e-1 by an invocation that crashed and whose deadline passed
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let until = SystemTime::now() - Duration::from_secs(1);
    claimed_elsewhere(&store, "event-platform#e-1", until).await;
    let processor = processor(&store);
    // WHEN e-1 comes back
    let dispositions = processor.process_batch(&[thin("m1", "e-1")]).await;
    // THEN it runs
    assert_eq!(names(&dispositions), ["done"]);
    assert_eq!(processor.handler().ran(), ["e-1"]);
}

/// Business logic that, while it runs, asks the store what another
/// invocation claiming the same event would get.
struct Probe {
    store: Arc<EmbeddedIdempotencyStore>,
    answer: Mutex<Option<ClaimOutcome>>,
}

impl EventHandler for Probe {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let key = format!("event-platform#{}", event.id.as_deref().unwrap_or_default());
        let now = SystemTime::now();
        let claim = Claim {
            key: &key,
            owner: "another-invocation",
            now,
            until: now + Duration::from_secs(1),
        };
        *self.answer.lock().expect("lock") = Some(self.store.claim(claim).await.expect("answer"));
        Outcome::Done
    }
}

#[tokio::test]
async fn while_the_business_logic_runs_the_event_is_in_progress_until_the_deadline() {
    // GIVEN a batch whose invocation ends in 40 s
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let probe = Probe {
        store: Arc::clone(&store),
        answer: Mutex::new(None),
    };
    let processor = Processor::new(
        probe,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
    .with_idempotency(Arc::clone(&store) as Arc<dyn IdempotencyStore>, DEFAULT_WINDOW);
    let deadline = SystemTime::now() + Duration::from_secs(40);
    // WHEN another invocation claims the event while the business logic runs it
    processor
        .process_batch_until(&[thin("m1", "e-1")], deadline)
        .await;
    // THEN it is told the event is in progress until that deadline
    let answer = *processor.handler().answer.lock().expect("lock");
    assert_eq!(answer, Some(ClaimOutcome::InProgress { until: deadline }));
}

#[tokio::test]
async fn a_stale_full_snapshot_is_skipped_across_batches() {
    // GIVEN the 10:00:05 snapshot of product u1 handled in a first batch
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    processor
        .process_batch(&[snapshot("m1", "new", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // WHEN its 10:00:01 snapshot arrives late, in a second batch
    let late = processor
        .process_batch(&[snapshot("m2", "old", "u1", "2024-01-01T10:00:01+00:00")])
        .await;
    // THEN the old snapshot is done without running: it would overwrite newer data
    assert_eq!(names(&late), ["done"]);
    assert_eq!(processor.handler().ran(), ["new"]);
}

#[tokio::test]
async fn a_stale_delete_is_skipped() {
    // GIVEN product u1 updated at 10:00:05
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let update = event_message(
        "m1",
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.updated",
        Some("updated"),
        "u1",
        "2024-01-01T10:00:05Z",
    );
    processor.process_batch(&[update]).await;
    // WHEN a delete of 10:00:01 arrives late
    let delete = event_message(
        "m2",
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.deleted",
        Some("deleted"),
        "u1",
        "2024-01-01T10:00:01Z",
    );
    processor.process_batch(&[delete]).await;
    // THEN it is skipped
    assert_eq!(processor.handler().ran(), ["updated"]);
}

#[tokio::test]
async fn a_stale_thin_event_is_delivered_flagged() {
    // GIVEN product u1's snapshot of 10:00:05 handled
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    processor
        .process_batch(&[snapshot("m1", "new", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // WHEN an Event Platform delta about u1 of 10:00:01 arrives
    let delta = event_message(
        "m2",
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.updated.delta",
        Some("delta"),
        "u1",
        "2024-01-01T10:00:01Z",
    );
    processor.process_batch(&[delta]).await;
    // THEN the business logic gets it, marked stale
    assert_eq!(
        processor.handler().ran_stale(),
        [("new".to_owned(), false), ("delta".to_owned(), true)]
    );
}

#[tokio::test]
async fn the_business_logic_can_take_stale_snapshots_too() {
    // GIVEN business logic that wants every stale event, and u1's 10:00:05 snapshot handled
    let store: Arc<dyn IdempotencyStore> = Arc::new(EmbeddedIdempotencyStore::new());
    let handler = Recorder {
        deliver_stale: true,
        ..Recorder::default()
    };
    let processor = processor_with(handler, store);
    processor
        .process_batch(&[snapshot("m1", "new", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // WHEN an older snapshot arrives
    processor
        .process_batch(&[snapshot("m2", "old", "u1", "2024-01-01T10:00:01+00:00")])
        .await;
    // THEN it is delivered, marked stale
    assert_eq!(
        processor.handler().ran_stale(),
        [("new".to_owned(), false), ("old".to_owned(), true)]
    );
}

#[tokio::test]
async fn equal_timestamps_are_not_stale() {
    // GIVEN u1's snapshot of 10:00:05 handled
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    processor
        .process_batch(&[snapshot("m1", "first", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // WHEN another snapshot of the same second arrives
    processor
        .process_batch(&[snapshot("m2", "second", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // THEN it runs, not flagged
    assert_eq!(
        processor.handler().ran_stale(),
        [("first".to_owned(), false), ("second".to_owned(), false)]
    );
}

#[tokio::test]
async fn a_stale_event_skipped_once_is_a_duplicate_afterwards() {
    // GIVEN an old snapshot skipped as stale
    let store = Arc::new(SwitchableStore::default());
    let processor = processor_with(
        Recorder::default(),
        Arc::clone(&store) as Arc<dyn IdempotencyStore>,
    );
    processor
        .process_batch(&[snapshot("m1", "new", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    processor
        .process_batch(&[snapshot("m2", "old", "u1", "2024-01-01T10:00:01+00:00")])
        .await;
    // WHEN it is delivered again
    let again = processor
        .process_batch(&[snapshot("m3", "old", "u1", "2024-01-01T10:00:01+00:00")])
        .await;
    // THEN it is done, as a completed event
    assert_eq!(names(&again), ["done"]);
    let completed = Claim {
        key: "events-api#old",
        owner: "x",
        now: SystemTime::now(),
        until: SystemTime::now() + Duration::from_secs(1),
    };
    assert_eq!(store.inner.claim(completed).await, Ok(ClaimOutcome::Completed));
}

#[tokio::test]
async fn with_the_store_down_events_are_retried_not_run_and_not_lost() {
    // GIVEN a store that is down
    let store = Arc::new(SwitchableStore::default());
    store.set_down(true);
    let processor = processor_with(
        Recorder::default(),
        Arc::clone(&store) as Arc<dyn IdempotencyStore>,
    );
    // WHEN a batch arrives
    let dispositions = processor
        .process_batch(&[thin("m1", "e-1"), thin("m2", "e-2")])
        .await;
    // THEN every message is retried (reported failed, so it comes back) and nothing ran
    assert_eq!(names(&dispositions), ["retried", "retried"]);
    assert!(dispositions.iter().all(Disposition::is_failure));
    assert!(processor.handler().ran().is_empty());
    // ... and once the store is back, the retries run
    store.set_down(false);
    let later = processor
        .process_batch(&[thin("m1", "e-1"), thin("m2", "e-2")])
        .await;
    assert_eq!(names(&later), ["done", "done"]);
}

#[tokio::test(start_paused = true)]
async fn a_batchs_claims_go_out_together() {
    // GIVEN a store answering each call after 100 ms
    let store = Arc::new(SwitchableStore::slow(Duration::from_millis(100)));
    let processor = processor_with(
        Recorder::default(),
        Arc::clone(&store) as Arc<dyn IdempotencyStore>,
    );
    let batch: Vec<_> = (0..10)
        .map(|i| thin(&format!("m{i}"), &format!("e-{i}")))
        .collect();
    let started = tokio::time::Instant::now();
    // WHEN a batch of ten events is processed
    processor.process_batch(&batch).await;
    // THEN ten claims and one read of the entities took one round trip, and
    // completing and recording took another
    assert_eq!(store.claims.load(std::sync::atomic::Ordering::SeqCst), 10);
    assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

/// A large event's pointer message, its envelope stored in `payloads`.
fn pointer(message_id: &str, payloads: &crate::testing::MemoryPayloads, id: &str) -> ReceivedMessage {
    let raw = format!(r#"{{"id":"{id}","data":{{"product":{{"uuid":"u-{id}"}}}}}}"#);
    let fields = EventFields {
        id: Some(id.into()),
        kind: Some("com.akeneo.pim.v1.product.updated".into()),
        occurred_at: Some("2024-01-01T10:00:00Z".into()),
        source: None,
    };
    let envelope = OutboundMessage::build(Protocol::EventPlatform, &raw, &fields, "t");
    let location = payloads.insert(&format!("key-{id}"), bytes::Bytes::from(envelope.body.clone()));
    let pointer = envelope.pointer_to(&location);
    ReceivedMessage {
        message_id: message_id.into(),
        receipt_handle: Some(format!("rh-{message_id}")),
        body: Some(pointer.body),
        receive_count: 1,
        attributes: pointer
            .attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
    }
}

fn with_payloads(
    store: &Arc<EmbeddedIdempotencyStore>,
    payloads: &Arc<crate::testing::MemoryPayloads>,
) -> Processor<Recorder, MemoryQueue, MemoryVisibility> {
    processor(store).with_payload_store(Arc::clone(payloads) as Arc<dyn PayloadStore>, true)
}

#[tokio::test]
async fn a_large_event_delivered_again_after_it_was_handled_is_a_duplicate_not_a_dead_letter() {
    // GIVEN a large event handled once: done, its object deleted
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let payloads = Arc::new(crate::testing::MemoryPayloads::new(
        crate::testing::StoreBehaviour::Accept,
    ));
    let processor = with_payloads(&store, &payloads);
    let message = pointer("m1", &payloads, "big-1");
    assert_eq!(
        names(&processor.process_batch(std::slice::from_ref(&message)).await),
        ["done"]
    );
    assert!(payloads.is_empty());
    // WHEN SQS delivers the same pointer again
    let dispositions = processor.process_batch(&[message]).await;
    // THEN it is done as a duplicate: not dead-lettered, not run again
    assert_eq!(names(&dispositions), ["done"]);
    assert_eq!(processor.handler().ran(), ["big-1"]);
    assert!(processor.dead_letters.bodies().is_empty());
}

#[tokio::test]
async fn a_large_event_never_handled_whose_object_is_gone_is_still_dead_lettered_and_not_claimed() {
    // GIVEN a pointer whose object was lost before its event was ever handled
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let payloads = Arc::new(crate::testing::MemoryPayloads::new(
        crate::testing::StoreBehaviour::Accept,
    ));
    let processor = with_payloads(&store, &payloads);
    let message = pointer("m1", &payloads, "lost-1");
    payloads
        .delete(&crate::core::message::PayloadLocation {
            bucket: crate::testing::MemoryPayloads::BUCKET.into(),
            key: "key-lost-1".into(),
        })
        .await
        .expect("deleted");
    // WHEN it is processed
    let dispositions = processor.process_batch(&[message]).await;
    // THEN it is dead-lettered as payload_missing, and the store holds no claim on the event
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "payload_missing".into()
        }]
    );
    let now = SystemTime::now();
    let claim = store
        .claim(crate::ports::idempotency::Claim {
            key: "event-platform#lost-1",
            owner: "a redrive",
            now,
            until: now + Duration::from_secs(60),
        })
        .await;
    assert_eq!(claim, Ok(ClaimOutcome::Claimed));
}

#[tokio::test]
async fn a_large_event_in_progress_elsewhere_whose_object_is_gone_is_retried() {
    // GIVEN a pointer whose object is gone while another invocation holds its event
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let payloads = Arc::new(crate::testing::MemoryPayloads::new(
        crate::testing::StoreBehaviour::Accept,
    ));
    let processor = with_payloads(&store, &payloads);
    let message = pointer("m1", &payloads, "busy-1");
    claimed_elsewhere(
        &store,
        "event-platform#busy-1",
        SystemTime::now() + Duration::from_secs(60),
    )
    .await;
    payloads
        .delete(&crate::core::message::PayloadLocation {
            bucket: crate::testing::MemoryPayloads::BUCKET.into(),
            key: "key-busy-1".into(),
        })
        .await
        .expect("deleted");
    // WHEN it is processed
    let dispositions = processor.process_batch(&[message]).await;
    // THEN it is retried: that invocation's outcome decides
    assert_eq!(names(&dispositions), ["retried"]);
}
