use std::sync::Arc;
use std::time::Duration;

use super::publisher::BusPublisher;
use crate::core::event::PimEvent;
use crate::core::message::{EventFields, OutboundMessage};
use crate::core::protocol::Protocol;
use crate::ports::handler::Outcome;
use crate::testing::bus::RecordingBus;

fn product_event(index: usize, kind: &str) -> PimEvent {
    let raw = format!(r#"{{"id":"e-{index}","type":"{kind}","data":{{"product":{{"uuid":"u-{index}"}}}}}}"#);
    let fields = EventFields {
        id: Some(format!("e-{index}")),
        kind: Some(kind.into()),
        occurred_at: None,
        source: Some("sub-1".into()),
    };
    PimEvent::from_message_body(&OutboundMessage::build(Protocol::EventPlatform, &raw, &fields, "t").body)
        .expect("an envelope")
}

fn updates(count: usize) -> Vec<PimEvent> {
    (0..count)
        .map(|i| product_event(i, "com.akeneo.pim.v1.product.updated"))
        .collect()
}

fn publisher(bus: &Arc<RecordingBus>) -> BusPublisher {
    BusPublisher::new(bus.clone()).with_retries(3, Duration::ZERO)
}

#[tokio::test]
async fn twenty_five_events_are_published_in_three_calls() {
    // GIVEN a bus that takes everything
    let bus = Arc::new(RecordingBus::new());
    let events = updates(25);
    let refs: Vec<&PimEvent> = events.iter().collect();
    // WHEN the batch is published
    let outcomes = publisher(&bus).publish(&refs).await;
    // THEN every event is done, in three calls of at most ten
    assert!(outcomes.iter().all(|o| *o == Outcome::Done), "{outcomes:?}");
    let sizes: Vec<usize> = bus.calls().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert!(bus.sent().iter().all(|e| e.detail_type == "product.updated"));
}

#[tokio::test]
async fn a_failed_entry_is_sent_again_alone() {
    // GIVEN a bus that throttles the deletion's entry once
    let bus = Arc::new(RecordingBus::new());
    bus.fail_entries("product.deleted", 1, "ThrottlingException");
    let mut events = updates(3);
    events.push(product_event(3, "com.akeneo.pim.v1.product.deleted"));
    let refs: Vec<&PimEvent> = events.iter().collect();
    // WHEN the batch is published
    let outcomes = publisher(&bus).publish(&refs).await;
    // THEN all are done, and the second call carried the deletion only
    assert!(outcomes.iter().all(|o| *o == Outcome::Done), "{outcomes:?}");
    let calls = bus.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].len(), 1);
    assert_eq!(calls[1][0].detail_type, "product.deleted");
}

#[tokio::test]
async fn an_entry_that_keeps_failing_retries_its_message_only() {
    // GIVEN a bus that fails the deletion's entry on every try
    let bus = Arc::new(RecordingBus::new());
    bus.fail_entries("product.deleted", 99, "InternalFailure");
    let events = [
        product_event(0, "com.akeneo.pim.v1.product.updated"),
        product_event(1, "com.akeneo.pim.v1.product.deleted"),
    ];
    let refs: Vec<&PimEvent> = events.iter().collect();
    // WHEN the batch is published
    let outcomes = publisher(&bus).publish(&refs).await;
    // THEN the update is done and the deletion is retried, saying why
    assert_eq!(outcomes[0], Outcome::Done);
    assert!(
        matches!(&outcomes[1], Outcome::Retry(reason) if reason.contains("InternalFailure")),
        "{outcomes:?}"
    );
    assert_eq!(bus.calls().len(), 3);
}

#[tokio::test]
async fn an_entry_the_bus_refuses_for_its_content_is_dead_lettered_at_once() {
    // GIVEN a bus that refuses the deletion's detail
    let bus = Arc::new(RecordingBus::new());
    bus.fail_entries("product.deleted", 99, "MalformedDetail");
    let events = [product_event(1, "com.akeneo.pim.v1.product.deleted")];
    let refs: Vec<&PimEvent> = events.iter().collect();
    // WHEN it is published
    let outcomes = publisher(&bus).publish(&refs).await;
    // THEN it is rejected after one call
    assert!(matches!(&outcomes[0], Outcome::Reject(reason) if reason.contains("MalformedDetail")));
    assert_eq!(bus.calls().len(), 1);
}

#[tokio::test]
async fn a_call_refused_as_a_whole_is_made_again() {
    // GIVEN a bus that refuses the first call
    let bus = Arc::new(RecordingBus::new());
    bus.refuse_calls(1);
    let events = updates(2);
    let refs: Vec<&PimEvent> = events.iter().collect();
    // WHEN the batch is published
    let outcomes = publisher(&bus).publish(&refs).await;
    // THEN both events are done on the second call
    assert!(outcomes.iter().all(|o| *o == Outcome::Done));
    assert_eq!(bus.calls().len(), 2);
}

#[tokio::test]
async fn an_event_too_large_for_an_entry_is_dead_lettered_and_the_others_published() {
    // GIVEN a bus limited to 2,000 bytes and an event of 5,000 with no stored copy
    let bus = Arc::new(RecordingBus::new());
    let big = format!(r#"{{"data":"{}"}}"#, "x".repeat(5_000));
    let fields = EventFields {
        id: Some("big".into()),
        kind: Some("com.akeneo.pim.v1.product.updated".into()),
        occurred_at: None,
        source: None,
    };
    let large = PimEvent::from_message_body(
        &OutboundMessage::build(Protocol::EventPlatform, &big, &fields, "t").body,
    )
    .expect("an envelope");
    let small = product_event(1, "com.akeneo.pim.v1.product.updated");
    // WHEN both are published
    let outcomes = publisher(&bus)
        .with_entry_limit(2_000)
        .publish(&[&large, &small])
        .await;
    // THEN the large one is rejected with its size, the small one published
    assert!(matches!(&outcomes[0], Outcome::Reject(reason) if reason.contains("over the destination's")));
    assert_eq!(outcomes[1], Outcome::Done);
    assert_eq!(bus.sent().len(), 1);
}
