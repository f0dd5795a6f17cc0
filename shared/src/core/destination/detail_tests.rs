use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use super::detail::*;
use crate::core::event::{Current, PimEvent};
use crate::core::message::{EventFields, OutboundMessage, PayloadLocation};
use crate::core::protocol::Protocol;

/// An event as Akeneo sends it, with the spacing and escapes a re-serialiser
/// would change.
const RAW: &str = r#"{ "action" : "product.updated", "event_id":"e-1", "data":{"resource":{"uuid":"u-1","identifier":"sku\u002d1"}} }"#;

fn event(protocol: Protocol, kind: &str, raw: &str) -> PimEvent {
    let fields = EventFields {
        id: Some("e-1".into()),
        kind: Some(kind.into()),
        occurred_at: Some("2026-12-07T10:00:00+00:00".into()),
        source: Some("https://pim.example.com".into()),
    };
    PimEvent::from_message_body(&OutboundMessage::build(protocol, raw, &fields, "t").body)
        .expect("an envelope")
}

fn product(json: &str) -> Option<Current> {
    Some(Current::Found(Arc::from(
        RawValue::from_string(json.to_owned()).expect("JSON"),
    )))
}

fn parsed(document: &str) -> Value {
    serde_json::from_str(document).expect("the document is JSON")
}

#[test]
fn the_event_is_embedded_byte_for_byte_with_the_documented_fields() {
    // GIVEN an Events API product update as Akeneo sent it
    let event = event(Protocol::EventsApi, "product.updated", RAW);
    // WHEN its document is made
    let document = detail(&event, None, 1 << 20).expect("it fits");
    // THEN the event's bytes are in it unchanged
    assert!(document.contains(RAW), "{document}");
    // AND the fields say what it is without reading the event
    let fields = parsed(&document);
    assert_eq!(fields["version"], 1);
    assert_eq!(fields["type"], "product.updated");
    assert_eq!(fields["protocol"], "events-api");
    assert_eq!(fields["event_id"], "e-1");
    assert_eq!(fields["pim"], "https://pim.example.com");
    assert_eq!(fields["subscription"], Value::Null);
    assert_eq!(fields["stale"], false);
    assert_eq!(fields["current_state"], "not_read");
    assert!(fields.get("event_pointer").is_none());
    assert!(fields.get("tenant").is_none());
}

#[test]
fn a_tenants_event_names_its_tenant() {
    // GIVEN an event received on tenant acme's route
    let fields = EventFields {
        id: Some("e-1".into()),
        kind: Some("product.updated".into()),
        ..EventFields::default()
    };
    let message = OutboundMessage::build_for_tenant(Some("acme"), Protocol::EventsApi, RAW, &fields, "t");
    let event = PimEvent::from_message_body(&message.body).expect("an envelope");
    // WHEN its document is made
    let document = detail(&event, None, 1 << 20).expect("it fits");
    // THEN it names the tenant, for a rule or an endpoint to route on
    assert_eq!(parsed(&document)["tenant"], "acme");
}

#[test]
fn one_type_names_the_same_change_from_either_protocol() {
    // GIVEN a product model deletion from each protocol
    let events_api = event(Protocol::EventsApi, "product_model.removed", "{}");
    let event_platform = event(
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product-model.deleted",
        "{}",
    );
    // WHEN their types are named
    // THEN both are the same, so one rule catches either
    assert_eq!(detail_type(&events_api), "product-model.deleted");
    assert_eq!(detail_type(&event_platform), "product-model.deleted");
}

#[test]
fn an_event_platform_type_keeps_its_full_action() {
    // GIVEN a delta update and a completeness event
    let delta = event(
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.updated.delta",
        "{}",
    );
    let complete = event(
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.became-complete",
        "{}",
    );
    // WHEN their types are named
    // THEN the action after the entity is kept whole
    assert_eq!(detail_type(&delta), "product.updated.delta");
    assert_eq!(detail_type(&complete), "product.became-complete");
}

#[test]
fn the_current_product_is_embedded_as_the_pim_answered_it() {
    // GIVEN an event enriched with the product the PIM has now
    let mut event = event(Protocol::EventPlatform, "com.akeneo.pim.v1.product.updated", "{}");
    event.current = product(r#"{"uuid":"u-1",  "enabled":true}"#);
    // WHEN its document is made
    let document = detail(&event, None, 1 << 20).expect("it fits");
    // THEN the product is there byte for byte, and said to be found
    assert!(
        document.contains(r#""current":{"uuid":"u-1",  "enabled":true}"#),
        "{document}"
    );
    assert_eq!(parsed(&document)["current_state"], "found");
    assert_eq!(parsed(&document)["subscription"], "https://pim.example.com");
}

#[test]
fn a_document_over_the_limit_leaves_out_the_current_product_first() {
    // GIVEN an event whose current product does not fit beside it
    let mut event = event(Protocol::EventsApi, "product.updated", RAW);
    event.current = product(&format!(r#"{{"values":"{}"}}"#, "x".repeat(2_000)));
    // WHEN its document is made within 1,000 bytes
    let document = detail(&event, None, 1_000).expect("it fits without the product");
    // THEN the event is whole and the product is said to be omitted
    assert!(document.contains(RAW));
    assert_eq!(parsed(&document)["current_state"], "omitted");
    assert_eq!(parsed(&document)["current"], Value::Null);
}

#[test]
fn a_stored_event_over_the_limit_is_carried_as_a_pointer() {
    // GIVEN a large event the receiver stored in S3
    let big = format!(r#"{{"data":"{}"}}"#, "y".repeat(5_000));
    let event = event(Protocol::EventPlatform, "com.akeneo.pim.v1.product.updated", &big);
    let stored = PayloadLocation {
        bucket: "relay-payloads".into(),
        key: "k-1".into(),
    };
    // WHEN its document is made within 1,000 bytes
    let document = detail(&event, Some(&stored), 1_000).expect("the pointer fits");
    // THEN the event is null and the pointer says where it is
    let fields = parsed(&document);
    assert_eq!(fields["event"], Value::Null);
    assert_eq!(fields["event_pointer"]["s3_bucket"], "relay-payloads");
    assert_eq!(fields["event_pointer"]["s3_key"], "k-1");
}

#[test]
fn an_event_over_the_limit_with_no_stored_copy_cannot_be_carried() {
    // GIVEN a large event that was never stored
    let big = format!(r#"{{"data":"{}"}}"#, "y".repeat(5_000));
    let event = event(Protocol::EventPlatform, "com.akeneo.pim.v1.product.updated", &big);
    // WHEN its document is made within 1,000 bytes
    let made = detail(&event, None, 1_000);
    // THEN it is refused with its size
    assert!(matches!(made, Err(TooLarge { limit: 1_000, bytes }) if bytes > 5_000));
}
