//! Batches through the processor with scripted business logic and in-memory
//! queues: what each outcome does to its message, and how a batch is scheduled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::core::event::EntityKeys;
use crate::core::message::{EventFields, OutboundMessage};
use crate::core::protocol::Protocol;
use crate::testing::{Behaviour, MemoryPayloads, MemoryQueue, MemoryVisibility, StoreBehaviour};

/// Business logic scripted by the event id's prefix; records what it ran.
#[derive(Default)]
struct Scripted {
    log: Mutex<Vec<(String, &'static str, tokio::time::Instant)>>,
    raws: Mutex<Vec<String>>,
    pause: Duration,
}

impl Scripted {
    fn pausing(pause: Duration) -> Scripted {
        Scripted {
            pause,
            ..Scripted::default()
        }
    }

    fn log(&self) -> Vec<(String, &'static str, tokio::time::Instant)> {
        self.log.lock().expect("lock").clone()
    }
}

impl EventHandler for Scripted {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let id = event.id.clone().unwrap_or_default();
        self.raws.lock().expect("lock").push(event.raw.get().to_owned());
        let now = tokio::time::Instant::now;
        self.log.lock().expect("lock").push((id.clone(), "start", now()));
        tokio::time::sleep(self.pause).await;
        self.log.lock().expect("lock").push((id.clone(), "end", now()));
        match id.split('-').next() {
            Some("retry") => Outcome::Retry("downstream unavailable".into()),
            Some("reject") => Outcome::Reject("product has no SKU".into()),
            Some("panic") => panic!("bug in business logic for {id}"),
            _ => Outcome::Done,
        }
    }
}

/// A product event's queue message body, as the receiver writes it.
fn envelope(id: &str, uuid: &str, occurred_at: &str) -> String {
    let raw = format!(
        r#"{{"id":"{id}","type":"com.akeneo.pim.v1.product.updated","data":{{"product":{{"uuid":"{uuid}"}}}}}}"#
    );
    let fields = EventFields {
        id: Some(id.into()),
        kind: Some("com.akeneo.pim.v1.product.updated".into()),
        occurred_at: Some(occurred_at.into()),
        source: Some("sub-1".into()),
    };
    OutboundMessage::build(Protocol::EventPlatform, &raw, &fields, "t").body
}

fn message(message_id: &str, body: &str, receive_count: u32) -> ReceivedMessage {
    ReceivedMessage {
        message_id: message_id.into(),
        receipt_handle: Some(format!("rh-{message_id}")),
        body: Some(body.into()),
        receive_count,
        attributes: HashMap::from([("type".to_owned(), "com.akeneo.pim.v1.product.updated".to_owned())]),
    }
}

fn product_message(message_id: &str, event_id: &str, uuid: &str) -> ReceivedMessage {
    message(message_id, &envelope(event_id, uuid, "2024-01-01T00:00:00Z"), 1)
}

fn processor(
    handler: Scripted,
    dlq: Behaviour,
    concurrency: usize,
) -> Processor<Scripted, MemoryQueue, MemoryVisibility> {
    let settings = Settings {
        concurrency,
        backoff_cap: Duration::from_secs(900),
    };
    Processor::new(
        handler,
        MemoryQueue::new(dlq),
        MemoryVisibility::default(),
        settings,
    )
}

#[tokio::test]
async fn a_done_event_is_done() {
    // GIVEN business logic that handles the event
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    // WHEN its message is processed
    let dispositions = processor
        .process_batch(&[product_message("m1", "ok-1", "p1")])
        .await;
    // THEN it is done: no dead letter, no visibility change
    assert_eq!(dispositions, [Disposition::Done]);
    assert!(processor.dead_letters.bodies().is_empty());
    assert!(processor.visibility.changes().is_empty());
}

#[tokio::test]
async fn a_retried_event_is_postponed_by_its_backoff() {
    // GIVEN business logic that asks for a retry, on the message's third receive
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    let retried = message("m-retry", &envelope("retry-1", "p2", "2024-01-01T00:00:00Z"), 3);
    // WHEN it is processed
    let dispositions = processor.process_batch(&[retried]).await;
    // THEN it is retried, hidden for 20 to 40 s
    assert!(
        matches!(&dispositions[0], Disposition::Retried { reason, .. } if reason == "downstream unavailable")
    );
    let changes = processor.visibility.changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].1, "rh-m-retry");
    assert!((20..=40).contains(&changes[0].2), "{}", changes[0].2);
}

/// A PIM client with a bug: every read panics, as an overflow on a number the
/// PIM answered once did.
struct PanickingPim;

impl PimReader for PanickingPim {
    fn products<'a>(
        &'a self,
        _: &'a [String],
        _: Instant,
    ) -> futures::future::BoxFuture<'a, Result<crate::ports::pim::Found, crate::ports::pim::PimReadError>>
    {
        Box::pin(async { panic!("overflow when adding duration to instant") })
    }

    fn product_models<'a>(
        &'a self,
        keys: &'a [String],
        deadline: Instant,
    ) -> futures::future::BoxFuture<'a, Result<crate::ports::pim::Found, crate::ports::pim::PimReadError>>
    {
        self.products(keys, deadline)
    }
}

#[tokio::test]
async fn a_panic_outside_the_business_logic_retries_the_batch_and_the_processor_goes_on() {
    // GIVEN a processor whose PIM reads panic
    let processor = processor(Scripted::default(), Behaviour::Accept, 4)
        .with_pim(Arc::new(PanickingPim), Duration::from_secs(5));
    let batch = [
        product_message("m1", "ok-1", "p1"),
        product_message("m2", "ok-2", "p2"),
    ];
    // WHEN a batch is processed, twice
    let first = processor.process_batch(&batch).await;
    let second = processor.process_batch(&batch).await;
    // THEN each time every message is retried, saying why, and no handler ran on missing data
    for dispositions in [first, second] {
        assert_eq!(dispositions.len(), 2);
        for disposition in &dispositions {
            assert!(
                matches!(disposition, Disposition::Retried { reason, .. } if reason.contains("the processor failed: overflow")),
                "{disposition:?}"
            );
        }
    }
    assert!(processor.handler().log().is_empty());
}

#[tokio::test]
async fn a_panic_retries_only_its_own_event() {
    // GIVEN business logic that panics on one of two events
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    let batch = [
        product_message("m-ok", "ok-1", "p1"),
        product_message("m-panic", "panic-1", "p2"),
    ];
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN the other event is done and the panicking one is retried, saying why
    assert_eq!(dispositions[0], Disposition::Done);
    assert!(matches!(&dispositions[1], Disposition::Retried { reason, .. } if reason.contains("panicked")));
    assert!(
        (5..=10).contains(&processor.visibility.changes()[0].2),
        "first receive waits 5-10 s"
    );
}

#[tokio::test]
async fn a_rejected_event_is_dead_lettered_verbatim_with_its_reason() {
    // GIVEN business logic that rejects the event
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    let rejected = product_message("m-reject", "reject-1", "p3");
    // WHEN it is processed
    let dispositions = processor.process_batch(std::slice::from_ref(&rejected)).await;
    // THEN it is on the dead-letter queue, body untouched, reason beside it
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "rejected".into()
        }]
    );
    let dead = processor.dead_letters.messages.lock().expect("lock").clone();
    assert_eq!(Some(dead[0].body.as_str()), rejected.body.as_deref());
    assert_eq!(dead[0].attribute("error_code"), Some("rejected"));
    assert_eq!(dead[0].attribute("error_message"), Some("product has no SKU"));
    assert_eq!(dead[0].attribute("original_message_id"), Some("m-reject"));
    assert_eq!(dead[0].attribute("receive_count"), Some("1"));
    assert_eq!(
        dead[0].attribute("type"),
        Some("com.akeneo.pim.v1.product.updated")
    );
}

#[tokio::test]
async fn a_body_that_is_not_an_envelope_is_dead_lettered_as_invalid() {
    // GIVEN a message no receiver wrote, on its second receive
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    // WHEN it is processed
    let dispositions = processor
        .process_batch(&[message("m-garbage", "this is not an envelope", 2)])
        .await;
    // THEN it is dead-lettered at once as invalid_envelope
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "invalid_envelope".into()
        }]
    );
    let dead = processor.dead_letters.messages.lock().expect("lock").clone();
    assert_eq!(dead[0].attribute("receive_count"), Some("2"));
}

#[tokio::test]
async fn an_envelope_of_another_version_is_dead_lettered_as_unsupported() {
    // GIVEN a version 9 envelope
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    // WHEN it is processed
    let dispositions = processor
        .process_batch(&[message("m-v9", r#"{"v":9,"event":{}}"#, 1)])
        .await;
    // THEN it is dead-lettered as unsupported_version
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "unsupported_version".into()
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_dead_letter_queue_down_poison_messages_fail_instead_of_vanishing() {
    // GIVEN a dead-letter queue that refuses every call
    let processor = processor(Scripted::default(), Behaviour::Unavailable, 4);
    let batch = [
        product_message("m-ok", "ok-1", "p1"),
        product_message("m-reject", "reject-1", "p2"),
        message("m-garbage", "garbage", 1),
    ];
    // WHEN a batch with a done, a rejected and a malformed message is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN the two that should go to the DLQ are reported failed, to come back
    let names: Vec<_> = dispositions.iter().map(Disposition::name).collect();
    assert_eq!(names, ["done", "dead_letter_failed", "dead_letter_failed"]);
    assert!(dispositions[1].is_failure() && dispositions[2].is_failure());
}

#[tokio::test(start_paused = true)]
async fn one_entitys_events_run_in_occurred_at_order_while_other_entities_run_alongside() {
    // GIVEN p1's three events out of order (one with another clock offset) among p2's and p3's
    let processor = processor(
        Scripted::pausing(Duration::from_millis(100)),
        Behaviour::Accept,
        8,
    );
    let batch = [
        message(
            "a3",
            &envelope("ok-p1-third", "p1", "2024-01-01T12:00:03+02:00"),
            1,
        ),
        message("b1", &envelope("ok-p2-only", "p2", "2024-01-01T10:00:00Z"), 1),
        message("a1", &envelope("ok-p1-first", "p1", "2024-01-01T09:00:01Z"), 1),
        message("c1", &envelope("ok-p3-only", "p3", "2024-01-01T10:00:00Z"), 1),
        message(
            "a2",
            &envelope("ok-p1-second", "p1", "2024-01-01T10:00:02+01:00"),
            1,
        ),
    ];
    let started = tokio::time::Instant::now();
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN p1 runs one event after another, oldest first, while p2 and p3 start with it
    assert!(dispositions.iter().all(|d| *d == Disposition::Done));
    let log = processor.handler().log();
    let p1: Vec<_> = log
        .iter()
        .filter(|(id, _, _)| id.contains("p1"))
        .map(|(id, phase, _)| (id.as_str(), *phase))
        .collect();
    assert_eq!(
        p1,
        [
            ("ok-p1-first", "start"),
            ("ok-p1-first", "end"),
            ("ok-p1-second", "start"),
            ("ok-p1-second", "end"),
            ("ok-p1-third", "start"),
            ("ok-p1-third", "end"),
        ]
    );
    let started_at_once = log
        .iter()
        .filter(|(_, phase, at)| *phase == "start" && *at == started)
        .count();
    assert_eq!(started_at_once, 3, "p1, p2 and p3 start together");
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "as long as the longest entity"
    );
}

#[tokio::test(start_paused = true)]
async fn no_more_entities_run_at_once_than_the_concurrency_allows() {
    // GIVEN six entities and a concurrency of two
    let processor = processor(
        Scripted::pausing(Duration::from_millis(100)),
        Behaviour::Accept,
        2,
    );
    let batch: Vec<_> = (0..6)
        .map(|i| product_message(&format!("m{i}"), &format!("ok-{i}"), &format!("p{i}")))
        .collect();
    let started = tokio::time::Instant::now();
    // WHEN the batch is processed
    processor.process_batch(&batch).await;
    // THEN it takes three rounds
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[test]
fn events_sharing_a_uuid_or_an_identifier_are_one_entity() {
    // GIVEN a with uuid u1, b with identifier sku-1, c with both, d with uuid u2, and an unparsed message
    let a = PimEvent::from_message_body(&envelope("x", "u1", "2024-01-01T00:00:00Z")).expect("envelope");
    let mut b = a.clone();
    b.keys = EntityKeys {
        uuid: None,
        identifier: Some("sku-1".into()),
        code: None,
    };
    let mut c = a.clone();
    c.keys.identifier = Some("sku-1".into());
    let mut d = a.clone();
    d.keys.uuid = Some("u2".into());
    // WHEN the batch is grouped
    let groups = schedule::entity_groups(&[Some(&a), Some(&b), None, Some(&c), Some(&d)]);
    // THEN c links a and b into one entity; the others stand alone
    assert_eq!(groups, vec![vec![0, 1, 3], vec![2], vec![4]]);
}

/// A large event's queue message: the body stored in `store`, a pointer on the queue.
fn pointer_message(
    message_id: &str,
    store: &MemoryPayloads,
    event_id: &str,
    padding: usize,
) -> (ReceivedMessage, String) {
    let raw = format!(
        r#"{{"id":"{event_id}","type":"com.akeneo.pim.v1.product.updated","data":{{"product":{{"uuid":"u-{event_id}"}},"note":"{}"}}}}"#,
        "é".repeat(padding)
    );
    let fields = EventFields {
        id: Some(event_id.into()),
        kind: Some("com.akeneo.pim.v1.product.updated".into()),
        ..EventFields::default()
    };
    let envelope = OutboundMessage::build(Protocol::EventPlatform, &raw, &fields, "t");
    let location = store.insert(
        &format!("key-{event_id}"),
        bytes::Bytes::from(envelope.body.clone()),
    );
    let pointer = envelope.pointer_to(&location);
    let mut received = message(message_id, &pointer.body, 1);
    for (name, value) in &pointer.attributes {
        received.attributes.insert((*name).to_owned(), value.clone());
    }
    (received, raw)
}

fn processor_with(
    handler: Scripted,
    store: &std::sync::Arc<MemoryPayloads>,
    delete_when_done: bool,
) -> Processor<Scripted, MemoryQueue, MemoryVisibility> {
    processor(handler, Behaviour::Accept, 4).with_payload_store(store.clone(), delete_when_done)
}

#[tokio::test]
async fn a_large_event_reaches_the_business_logic_byte_for_byte_and_its_object_is_deleted_once_done() {
    // GIVEN a 1.5 MB event stored in the payload store, its pointer in a batch with a small event
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let processor = processor_with(Scripted::default(), &store, true);
    let (pointer, raw) = pointer_message("m-big", &store, "ok-big", 750_000);
    let batch = [pointer, product_message("m-small", "ok-small", "p1")];
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN both are done, the business logic saw the large event's exact bytes, and its object is gone
    assert_eq!(dispositions, [Disposition::Done, Disposition::Done]);
    assert!(processor.handler().raws.lock().expect("lock").contains(&raw));
    assert_eq!(store.deleted_keys(), ["key-ok-big"]);
    assert!(store.is_empty());
}

#[tokio::test]
async fn the_object_is_kept_when_deleting_is_switched_off() {
    // GIVEN a processor told not to delete objects, and a large event
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let processor = processor_with(Scripted::default(), &store, false);
    let (pointer, _) = pointer_message("m-big", &store, "ok-big", 10);
    // WHEN it is processed
    let dispositions = processor.process_batch(&[pointer]).await;
    // THEN it is done and its object stays for the lifecycle rule
    assert_eq!(dispositions, [Disposition::Done]);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn a_pointer_whose_object_is_missing_is_dead_lettered_at_once_keeping_the_pointer() {
    // GIVEN a pointer whose object is gone
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let processor = processor_with(Scripted::default(), &store, true);
    let (pointer, _) = pointer_message("m-gone", &store, "ok-gone", 10);
    store
        .delete(&crate::core::message::PayloadLocation {
            bucket: MemoryPayloads::BUCKET.into(),
            key: "key-ok-gone".into(),
        })
        .await
        .expect("deleted");
    // WHEN it is processed
    let dispositions = processor.process_batch(std::slice::from_ref(&pointer)).await;
    // THEN it is dead-lettered as payload_missing, the dead letter still a pointer with its reason
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "payload_missing".into()
        }]
    );
    let dead = processor.dead_letters.messages.lock().expect("lock").clone();
    assert_eq!(Some(dead[0].body.as_str()), pointer.body.as_deref());
    assert_eq!(
        dead[0].attribute("ExtendedPayloadSize"),
        pointer.attribute("ExtendedPayloadSize")
    );
    assert!(
        dead[0]
            .attribute("error_message")
            .is_some_and(|m| m.contains("memory/key-ok-gone"))
    );
    assert!(processor.handler().log().is_empty());
}

#[tokio::test]
async fn a_pointer_is_retried_while_the_payload_store_is_unavailable() {
    // GIVEN a payload store that refuses connections, and a large event's pointer
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Unavailable));
    let processor = processor_with(Scripted::default(), &store, true);
    let (pointer, _) = pointer_message("m-big", &store, "ok-big", 10);
    // WHEN it is processed
    let dispositions = processor.process_batch(&[pointer]).await;
    // THEN it is retried later, not dead-lettered, and its object is kept
    assert!(
        matches!(&dispositions[0], Disposition::Retried { reason, .. } if reason.contains("unavailable")),
        "{dispositions:?}"
    );
    assert_eq!(processor.visibility.changes().len(), 1);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn a_rejected_large_event_keeps_its_object_for_the_redrive() {
    // GIVEN business logic that rejects a large event
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let processor = processor_with(Scripted::default(), &store, true);
    let (pointer, _) = pointer_message("m-big", &store, "reject-big", 10);
    // WHEN it is processed
    let dispositions = processor.process_batch(std::slice::from_ref(&pointer)).await;
    // THEN the pointer is dead-lettered and its object stays, readable after a redrive
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "rejected".into()
        }]
    );
    let dead = processor.dead_letters.messages.lock().expect("lock").clone();
    assert_eq!(Some(dead[0].body.as_str()), pointer.body.as_deref());
    assert!(store.deleted_keys().is_empty());
}

#[tokio::test]
async fn a_message_marked_as_a_pointer_that_is_not_one_is_dead_lettered_as_invalid_pointer() {
    // GIVEN an envelope carrying the reserved attribute
    let store = std::sync::Arc::new(MemoryPayloads::new(StoreBehaviour::Accept));
    let processor = processor_with(Scripted::default(), &store, true);
    let mut odd = product_message("m-odd", "ok-odd", "p1");
    odd.attributes.insert("ExtendedPayloadSize".into(), "10".into());
    // WHEN it is processed
    let dispositions = processor.process_batch(&[odd]).await;
    // THEN it is dead-lettered as invalid_pointer
    assert_eq!(
        dispositions,
        [Disposition::DeadLettered {
            code: "invalid_pointer".into()
        }]
    );
}
