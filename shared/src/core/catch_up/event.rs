//! A catch-up event: one product or product model the PIM says was updated
//! in the window, queued in the relay's envelope like any event Akeneo sends.
//!
//! Its envelope has `"protocol":"catch-up"`, a type named as the Events API
//! names updates (`product.updated`, `product_model.updated`), `occurred_at`
//! the entity's `updated` time, `source` the PIM's URL, and as its event
//! this document, the entity's JSON byte for byte as the PIM answered it:
//!
//! ```json
//! {"catch_up":{"run":"…"},"product":{ …the search item, byte for byte… }}
//! ```
//!
//! Its id, `product/<uuid>@<updated>` (`product-model/<code>@<updated>`),
//! names the entity's state, not the run: two runs (or overlapping windows)
//! that read the same state queue the same id, and the processor's
//! idempotency store lets the business logic see it once.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::window::rfc3339;
use crate::core::answers::SearchKey;
use crate::core::message::{EventFields, OutboundMessage};
use crate::core::protocol::Protocol;

/// What a catch-up reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUpEntity {
    /// Products, by uuid.
    Product,
    /// Product models, by code.
    ProductModel,
}

impl CatchUpEntity {
    /// Both, products first.
    pub const ALL: [CatchUpEntity; 2] = [CatchUpEntity::Product, CatchUpEntity::ProductModel];

    /// The key its search items are read by.
    pub fn search_key(self) -> SearchKey {
        match self {
            CatchUpEntity::Product => SearchKey::Uuid,
            CatchUpEntity::ProductModel => SearchKey::Code,
        }
    }

    /// Its name in ids and logs: `product`, `product-model` (as
    /// [`crate::core::event::Entity::name`]).
    pub fn name(self) -> &'static str {
        match self {
            CatchUpEntity::Product => "product",
            CatchUpEntity::ProductModel => "product-model",
        }
    }

    /// The event type its catch-up events carry.
    pub fn event_type(self) -> &'static str {
        match self {
            CatchUpEntity::Product => "product.updated",
            CatchUpEntity::ProductModel => "product_model.updated",
        }
    }

    /// The field of the catch-up document that holds the entity's JSON.
    pub fn document_field(self) -> &'static str {
        match self {
            CatchUpEntity::Product => "product",
            CatchUpEntity::ProductModel => "product_model",
        }
    }
}

#[derive(Deserialize)]
struct Updated {
    #[serde(default)]
    updated: Option<serde_json::Value>,
}

/// The `updated` time of a search item, when it has a readable one.
pub fn updated_at(item: &str) -> Option<OffsetDateTime> {
    let Updated {
        updated: Some(serde_json::Value::String(updated)),
    } = serde_json::from_str(item).ok()?
    else {
        return None;
    };
    OffsetDateTime::parse(&updated, &Rfc3339).ok()
}

/// The id of an entity's state: `product/<uuid>@<updated in UTC>`; `None`
/// without an `updated` time (the event is then queued without an id and is
/// not deduplicated).
pub fn catch_up_id(entity: CatchUpEntity, key: &str, updated: Option<OffsetDateTime>) -> Option<String> {
    Some(format!("{}/{key}@{}", entity.name(), rfc3339(updated?)))
}

/// The queue message for one search item (`key` normalised as the search
/// read it), from the run `run` against the PIM at `source`.
pub fn catch_up_message(
    entity: CatchUpEntity,
    key: &str,
    item: &str,
    run: &str,
    source: &str,
    received_at: &str,
) -> OutboundMessage {
    catch_up_message_for(None, entity, key, item, run, source, received_at)
}

/// As [`catch_up_message`], for `tenant`'s PIM (the message is stamped with
/// the tenant, as its live events are).
pub fn catch_up_message_for(
    tenant: Option<&str>,
    entity: CatchUpEntity,
    key: &str,
    item: &str,
    run: &str,
    source: &str,
    received_at: &str,
) -> OutboundMessage {
    let updated = updated_at(item);
    let run = serde_json::Value::String(run.to_owned()).to_string();
    let mut document = String::with_capacity(item.len() + run.len() + 40);
    document.push_str(r#"{"catch_up":{"run":"#);
    document.push_str(&run);
    document.push_str(r#"},""#);
    document.push_str(entity.document_field());
    document.push_str(r#"":"#);
    document.push_str(item);
    document.push('}');
    let fields = EventFields {
        id: catch_up_id(entity, key, updated),
        kind: Some(entity.event_type().to_owned()),
        occurred_at: updated.map(rfc3339),
        source: Some(source.to_owned()),
    };
    OutboundMessage::build_for_tenant(tenant, Protocol::CatchUp, &document, &fields, received_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PimEvent;
    use crate::core::event::{Action, Current, Entity, Origin};
    use crate::core::message::read_envelope;
    use crate::core::processor::dedupe::idempotency_key;

    const ITEM: &str = r#"{"uuid":"6a9f8486-2c36-4680-b87f-6f5f8f01b6cf","identifier":"sku-1","updated":"2026-12-01T10:15:00+01:00","values":{"name":[{"locale":null,"scope":null,"data":"Caf\u00e9 \"noir\""}]}}"#;

    fn queued(item: &str, run: &str) -> PimEvent {
        let message = catch_up_message(
            CatchUpEntity::Product,
            "6a9f8486-2c36-4680-b87f-6f5f8f01b6cf",
            item,
            run,
            "https://pim.example.com",
            "2026-12-07T12:00:00.000Z",
        );
        PimEvent::from_message_body(&message.body).expect("an envelope")
    }

    #[test]
    fn a_caught_up_product_reaches_the_logic_as_an_update_with_its_current_state() {
        // GIVEN a product as a PIM search answered it
        // WHEN it is queued by a catch-up and read back by the processor
        let event = queued(ITEM, "run-1");
        // THEN it is a product update from the catch-up, at the product's `updated` time
        assert_eq!(event.protocol, Protocol::CatchUp);
        assert_eq!(
            (&event.entity, &event.action),
            (&Entity::Product, &Action::Updated)
        );
        assert_eq!(
            event.keys.uuid.as_deref(),
            Some("6a9f8486-2c36-4680-b87f-6f5f8f01b6cf")
        );
        assert_eq!(event.keys.identifier.as_deref(), Some("sku-1"));
        assert_eq!(event.origin, Origin::Pim("https://pim.example.com".into()));
        assert_eq!(
            event.occurred_at.map(rfc3339).as_deref(),
            Some("2026-12-01T09:15:00Z")
        );
        // AND the product it read is its current state, byte for byte
        match &event.current {
            Some(Current::Found(raw)) => assert_eq!(raw.get(), ITEM),
            other => panic!("expected the product, got {other:?}"),
        }
        assert_eq!(event.catch_up_run().as_deref(), Some("run-1"));
    }

    #[test]
    fn two_runs_reading_the_same_state_queue_the_same_event() {
        // GIVEN the same product state read by two runs
        // WHEN both are queued
        let (first, second) = (queued(ITEM, "run-1"), queued(ITEM, "run-2"));
        // THEN they share one idempotency key, naming the entity and its `updated` time
        assert_eq!(idempotency_key(&first), idempotency_key(&second));
        assert_eq!(
            idempotency_key(&first).as_deref(),
            Some("catch-up#product/6a9f8486-2c36-4680-b87f-6f5f8f01b6cf@2026-12-01T09:15:00Z")
        );
    }

    #[test]
    fn a_later_state_of_the_same_product_is_another_event() {
        // GIVEN the product updated again after the first read
        let later = ITEM.replace("10:15:00", "10:16:00");
        // WHEN both states are queued
        // THEN their keys differ
        assert_ne!(
            idempotency_key(&queued(ITEM, "r")),
            idempotency_key(&queued(&later, "r"))
        );
    }

    #[test]
    fn an_item_without_an_updated_time_is_queued_without_an_id() {
        // GIVEN a product whose `updated` is missing
        let item = r#"{"uuid":"6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"}"#;
        // WHEN it is queued
        let event = queued(item, "r");
        // THEN it has no id (it cannot be deduplicated) and no time
        assert_eq!((event.id.as_deref(), event.occurred_at), (None, None));
    }

    #[test]
    fn the_envelope_names_the_protocol_and_keeps_the_items_bytes() {
        // GIVEN a product with escapes in its values
        // WHEN it is queued
        let message = catch_up_message(CatchUpEntity::Product, "k", ITEM, "r\"1", "https://pim", "t");
        let envelope = read_envelope(&message.body).expect("an envelope");
        // THEN the envelope says catch-up and the item is inside, unchanged
        assert_eq!(envelope.protocol, Protocol::CatchUp);
        assert_eq!(
            envelope.event.get(),
            format!(r#"{{"catch_up":{{"run":"r\"1"}},"product":{ITEM}}}"#)
        );
        assert_eq!(message.attribute("protocol"), Some("catch-up"));
    }
}
