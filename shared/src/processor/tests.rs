use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};

use super::*;
use crate::Protocol;
use crate::config::ProcessorConfig;
use crate::queue::OutboundMessage;
use crate::receiver::body::{EventFields, IncomingEvent};
use crate::test_support::{Behaviour, MemoryQueue, MemoryVisibility};

/// Business logic scripted by the event id's prefix; records what it ran.
#[derive(Default)]
struct Scripted {
    log: Mutex<Vec<(String, &'static str, tokio::time::Instant)>>,
    pause: Duration,
}

impl EventHandler for Scripted {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let id = event.id.clone().unwrap_or_default();
        self.log
            .lock()
            .unwrap()
            .push((id.clone(), "start", tokio::time::Instant::now()));
        tokio::time::sleep(self.pause).await;
        self.log
            .lock()
            .unwrap()
            .push((id.clone(), "end", tokio::time::Instant::now()));
        match id.split('-').next() {
            Some("retry") => Outcome::Retry("downstream unavailable".into()),
            Some("reject") => Outcome::Reject("product has no SKU".into()),
            Some("panic") => panic!("bug in business logic for {id}"),
            _ => Outcome::Done,
        }
    }
}

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
    OutboundMessage::build(Protocol::EventPlatform, &IncomingEvent { raw: &raw, fields }, "t").body
}

fn record(message_id: &str, body: &str, receive_count: u32) -> Record {
    Record {
        message_id: message_id.into(),
        receipt_handle: Some(format!("rh-{message_id}")),
        body: Some(body.into()),
        receive_count,
        attributes: HashMap::from([("type".to_owned(), "com.akeneo.pim.v1.product.updated".to_owned())]),
    }
}

fn processor(
    handler: Scripted,
    dlq: Behaviour,
    concurrency: usize,
) -> Processor<Scripted, MemoryQueue, MemoryVisibility> {
    let config = ProcessorConfig {
        queue_url: "q".into(),
        dead_letter_queue_url: "dlq".into(),
        concurrency,
        backoff_cap: Duration::from_secs(900),
    };
    Processor::new(
        &config,
        handler,
        MemoryQueue::new(dlq),
        MemoryVisibility::default(),
    )
}

fn mixed_batch() -> Vec<Record> {
    vec![
        record("m-ok", &envelope("ok-1", "p1", "2024-01-01T00:00:00Z"), 1),
        record("m-retry", &envelope("retry-1", "p2", "2024-01-01T00:00:00Z"), 3),
        record("m-reject", &envelope("reject-1", "p3", "2024-01-01T00:00:00Z"), 1),
        record("m-panic", &envelope("panic-1", "p4", "2024-01-01T00:00:00Z"), 1),
        record("m-garbage", "this is not an envelope", 2),
        record("m-v9", r#"{"v":9,"event":{}}"#, 1),
    ]
}

#[tokio::test]
async fn each_outcome_becomes_the_right_disposition_and_queue_calls() {
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    let records = mixed_batch();
    let dispositions = processor.process_batch(&records).await;
    let names: Vec<_> = dispositions.iter().map(Disposition::name).collect();
    assert_eq!(
        names,
        [
            "done",
            "retried",
            "dead_lettered",
            "retried",
            "dead_lettered",
            "dead_lettered"
        ]
    );
    assert!(matches!(&dispositions[3], Disposition::Retried { reason, .. } if reason.contains("panicked")));

    let dead = processor.dead_letters.messages.lock().unwrap().clone();
    assert_eq!(dead.len(), 3);
    let attribute = |m: &OutboundMessage, name: &str| {
        m.attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        dead[0].body,
        records[2].body.clone().unwrap(),
        "original body, verbatim"
    );
    assert_eq!(attribute(&dead[0], "error_code"), "rejected");
    assert_eq!(attribute(&dead[0], "error_message"), "product has no SKU");
    assert_eq!(attribute(&dead[0], "original_message_id"), "m-reject");
    assert_eq!(attribute(&dead[0], "receive_count"), "1");
    assert_eq!(attribute(&dead[0], "type"), "com.akeneo.pim.v1.product.updated");
    assert_eq!(attribute(&dead[1], "error_code"), "invalid_envelope");
    assert_eq!(attribute(&dead[1], "receive_count"), "2");
    assert_eq!(attribute(&dead[2], "error_code"), "unsupported_version");

    let changes = processor.visibility.changes.lock().unwrap().clone();
    let handles: Vec<_> = changes.iter().map(|(_, handle, _)| handle.as_str()).collect();
    assert_eq!(handles, ["rh-m-retry", "rh-m-panic"]);
    assert!(
        (20..=40).contains(&changes[0].2),
        "third receive waits 20-40 s: {}",
        changes[0].2
    );
    assert!(
        (5..=10).contains(&changes[1].2),
        "first receive waits 5-10 s: {}",
        changes[1].2
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_dead_letter_queue_down_poison_messages_fail_instead_of_vanishing() {
    let processor = processor(Scripted::default(), Behaviour::Unavailable, 4);
    let dispositions = processor.process_batch(&mixed_batch()).await;
    let names: Vec<_> = dispositions.iter().map(Disposition::name).collect();
    assert_eq!(
        names,
        [
            "done",
            "retried",
            "dead_letter_failed",
            "retried",
            "dead_letter_failed",
            "dead_letter_failed"
        ]
    );
    assert_eq!(dispositions.iter().filter(|d| d.is_failure()).count(), 5);
}

#[tokio::test(start_paused = true)]
async fn one_entity_runs_in_occurred_at_order_while_other_entities_run_alongside() {
    let handler = Scripted {
        pause: Duration::from_millis(100),
        ..Scripted::default()
    };
    let processor = processor(handler, Behaviour::Accept, 8);
    // p1's events arrive out of order, one of them with another clock offset.
    let records = vec![
        record(
            "a3",
            &envelope("ok-p1-third", "p1", "2024-01-01T12:00:03+02:00"),
            1,
        ),
        record("b1", &envelope("ok-p2-only", "p2", "2024-01-01T10:00:00Z"), 1),
        record("a1", &envelope("ok-p1-first", "p1", "2024-01-01T09:00:01Z"), 1),
        record("c1", &envelope("ok-p3-only", "p3", "2024-01-01T10:00:00Z"), 1),
        record(
            "a2",
            &envelope("ok-p1-second", "p1", "2024-01-01T10:00:02+01:00"),
            1,
        ),
    ];
    let started = tokio::time::Instant::now();
    let dispositions = processor.process_batch(&records).await;
    assert!(dispositions.iter().all(|d| *d == Disposition::Done));

    let log = processor.handler().log.lock().unwrap().clone();
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
        ],
        "one after another, oldest first"
    );
    let starts_at_zero = log
        .iter()
        .filter(|(_, phase, at)| *phase == "start" && *at == started)
        .count();
    assert_eq!(starts_at_zero, 3, "p1, p2 and p3 start together");
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "the batch takes as long as its longest entity"
    );
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_limit_holds() {
    let handler = Scripted {
        pause: Duration::from_millis(100),
        ..Scripted::default()
    };
    let processor = processor(handler, Behaviour::Accept, 2);
    let records: Vec<_> = (0..6)
        .map(|i| {
            record(
                &format!("m{i}"),
                &envelope(&format!("ok-{i}"), &format!("p{i}"), "2024-01-01T00:00:00Z"),
                1,
            )
        })
        .collect();
    let started = tokio::time::Instant::now();
    processor.process_batch(&records).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "6 entities, 2 at a time"
    );
}

#[tokio::test]
async fn events_sharing_a_uuid_or_identifier_are_one_entity() {
    let a = crate::event::parse_envelope(&envelope("x", "u1", "2024-01-01T00:00:00Z")).unwrap();
    let mut b = a.clone();
    b.keys = crate::event::EntityKeys {
        uuid: None,
        identifier: Some("sku-1".into()),
        code: None,
    };
    let mut c = a.clone();
    c.keys.identifier = Some("sku-1".into());
    let mut d = a.clone();
    d.keys.uuid = Some("u2".into());
    // b and a share nothing directly; c links them (uuid u1 and identifier sku-1).
    let groups = schedule::entity_groups(&[Some(&a), Some(&b), None, Some(&c), Some(&d)]);
    assert_eq!(groups, vec![vec![0, 1, 3], vec![2], vec![4]]);
}

fn sqs_message(id: Option<&str>, body: &str) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = id.map(Into::into);
    message.receipt_handle = Some("rh".into());
    message.body = Some(body.into());
    message
        .attributes
        .insert("ApproximateReceiveCount".into(), "2".into());
    message
}

#[tokio::test]
async fn the_batch_response_names_only_failed_messages_of_the_batch() {
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    let mut event = SqsEvent::default();
    event.records = vec![
        sqs_message(Some("m1"), &envelope("ok-1", "p1", "2024-01-01T00:00:00Z")),
        sqs_message(Some("m2"), &envelope("retry-2", "p2", "2024-01-01T00:00:00Z")),
        sqs_message(Some("m3"), "garbage"),
    ];
    let response = lambda::handle_sqs_event(&processor, event).await.unwrap();
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m2"]);

    let empty = lambda::handle_sqs_event(&processor, SqsEvent::default())
        .await
        .unwrap();
    assert!(empty.batch_item_failures.is_empty());
    assert_eq!(
        serde_json::to_string(&empty).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
}

#[tokio::test]
async fn a_failed_message_without_an_id_fails_the_whole_invocation() {
    let processor = processor(Scripted::default(), Behaviour::Accept, 4);
    let mut event = SqsEvent::default();
    event.records = vec![sqs_message(
        None,
        &envelope("retry-1", "p1", "2024-01-01T00:00:00Z"),
    )];
    assert!(lambda::handle_sqs_event(&processor, event).await.is_err());
}

#[test]
fn records_carry_the_receive_count_and_string_attributes() {
    let record = lambda::record_from_sqs(sqs_message(Some("m1"), "{}"));
    assert_eq!((record.message_id.as_str(), record.receive_count), ("m1", 2));
}
