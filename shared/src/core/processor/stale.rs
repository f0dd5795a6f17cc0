//! The stale-event guard's decisions: which entity records a batch needs, when
//! an event is older than the newest one handled about its entity, and what is
//! safe to do with it.

use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;

use crate::core::event::{Action, PimEvent, Stale};
use crate::core::protocol::Protocol;

/// Entity records share the store with the idempotency keys; this prefix keeps
/// them apart (`entity#product/uuid/<uuid>`).
pub const ENTITY_PREFIX: &str = "entity#";

/// What happens to a stale event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StalePolicy {
    /// Not delivered: the message is done, counted as `StaleSkipped`.
    Skip,
    /// Delivered to the business logic with `event.stale` set.
    Deliver,
}

impl StalePolicy {
    /// The safe default per kind of event:
    /// - a full snapshot (Events API `*.created` / `*.updated`, which carry the
    ///   whole product or model) would overwrite newer data: skipped;
    /// - a delete (either protocol) older than something newer about the same
    ///   entity (a re-creation, an update) would delete what now exists:
    ///   skipped;
    /// - a thin Event Platform event (the keys only: the business logic reads
    ///   the current state from the PIM API) and a `*.updated.delta` (the
    ///   changes, which may still matter) are delivered, flagged.
    ///
    /// A catch-up event is a full snapshot too: skipped when stale.
    pub fn default_for(event: &PimEvent) -> StalePolicy {
        match (event.protocol, &event.action) {
            (_, Action::Deleted) | (Protocol::CatchUp, _) => StalePolicy::Skip,
            (Protocol::EventsApi, Action::Created | Action::Updated) => StalePolicy::Skip,
            _ => StalePolicy::Deliver,
        }
    }
}

/// The event's keys as entity records of the store; none when the event has
/// no `occurred_at` (it cannot be ordered) or no key.
pub fn entity_records(event: &PimEvent) -> Vec<String> {
    if event.occurred_at.is_none() {
        return Vec::new();
    }
    event
        .entity_keys()
        .into_iter()
        .map(|key| format!("{ENTITY_PREFIX}{key}"))
        .collect()
}

/// Every entity record the batch's pending events need, once each, sorted.
pub fn records_to_read(pending: &[Option<&PimEvent>]) -> Vec<String> {
    let records: BTreeSet<String> = pending.iter().flatten().flat_map(|e| entity_records(e)).collect();
    records.into_iter().collect()
}

/// `Some` when a strictly newer event about one of the event's keys was
/// handled. Equal times are not stale: the Events API has one-second
/// precision, and two events of the same second are not ordered. A catch-up
/// event is also stale at an equal time: its time is the entity's `updated`
/// second, and an event handled in that second or later already told the
/// business logic about that state.
pub fn staleness(event: &PimEvent, last_handled: &HashMap<String, OffsetDateTime>) -> Option<Stale> {
    let occurred_at = event.occurred_at?;
    let newest = entity_records(event)
        .iter()
        .filter_map(|record| last_handled.get(record))
        .max()
        .copied()?;
    let older = match event.protocol {
        Protocol::CatchUp => newest >= occurred_at,
        _ => newest > occurred_at,
    };
    older.then_some(Stale {
        newer_handled: newest,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::core::event::EntityKeys;
    use crate::core::message::{EventFields, OutboundMessage};

    fn event(protocol: Protocol, kind: &str, occurred_at: Option<&str>) -> PimEvent {
        let raw = r#"{"data":{"resource":{"uuid":"u1","identifier":"sku-1"},"product":{"uuid":"u1"}}}"#;
        let fields = EventFields {
            id: Some("e1".into()),
            kind: Some(kind.into()),
            occurred_at: occurred_at.map(Into::into),
            source: None,
        };
        PimEvent::from_message_body(&OutboundMessage::build(protocol, raw, &fields, "t").body)
            .expect("envelope")
    }

    fn handled(entries: &[(&str, OffsetDateTime)]) -> HashMap<String, OffsetDateTime> {
        entries.iter().map(|(k, t)| ((*k).to_owned(), *t)).collect()
    }

    #[test]
    fn full_snapshots_and_deletes_are_skipped_when_stale_thin_and_delta_events_are_delivered() {
        // GIVEN one event of each kind
        let cases = [
            (Protocol::EventsApi, "product.created", StalePolicy::Skip),
            (Protocol::EventsApi, "product.updated", StalePolicy::Skip),
            (Protocol::EventsApi, "product_model.updated", StalePolicy::Skip),
            (Protocol::EventsApi, "product.removed", StalePolicy::Skip),
            (Protocol::EventsApi, "product_model.removed", StalePolicy::Skip),
            (
                Protocol::EventPlatform,
                "com.akeneo.pim.v1.product.deleted",
                StalePolicy::Skip,
            ),
            (
                Protocol::EventPlatform,
                "com.akeneo.pim.v1.product-model.deleted",
                StalePolicy::Skip,
            ),
            (
                Protocol::EventPlatform,
                "com.akeneo.pim.v1.product.updated",
                StalePolicy::Deliver,
            ),
            (
                Protocol::EventPlatform,
                "com.akeneo.pim.v1.product.created",
                StalePolicy::Deliver,
            ),
            (
                Protocol::EventPlatform,
                "com.akeneo.pim.v1.product.updated.delta",
                StalePolicy::Deliver,
            ),
            (
                Protocol::EventPlatform,
                "com.akeneo.pim.v1.product.became-complete",
                StalePolicy::Deliver,
            ),
        ];
        for (protocol, kind, expected) in cases {
            // WHEN the default policy is asked
            let policy = StalePolicy::default_for(&event(protocol, kind, Some("2024-01-01T00:00:00Z")));
            // THEN it is the safe one for that kind
            assert_eq!(policy, expected, "{kind}");
        }
    }

    #[test]
    fn an_event_older_than_the_newest_handled_about_any_of_its_keys_is_stale() {
        // GIVEN a product event at 10:00:00, and a newer event handled about its identifier only
        let event = event(
            Protocol::EventsApi,
            "product.updated",
            Some("2024-01-01T10:00:00+00:00"),
        );
        let last = handled(&[
            ("entity#product/uuid/u1", datetime!(2024-01-01 09:00 UTC)),
            (
                "entity#product/identifier/sku-1",
                datetime!(2024-01-01 10:00:01 UTC),
            ),
        ]);
        // WHEN its staleness is judged
        // THEN it is stale, and says when the newer one happened
        assert_eq!(
            staleness(&event, &last),
            Some(Stale {
                newer_handled: datetime!(2024-01-01 10:00:01 UTC)
            })
        );
    }

    #[test]
    fn equal_timestamps_are_not_stale() {
        // GIVEN an event of the same second as the newest handled (another offset)
        let event = event(
            Protocol::EventsApi,
            "product.updated",
            Some("2024-01-01T12:00:00+02:00"),
        );
        let last = handled(&[("entity#product/uuid/u1", datetime!(2024-01-01 10:00 UTC))]);
        // WHEN its staleness is judged
        // THEN it is not stale
        assert_eq!(staleness(&event, &last), None);
    }

    #[test]
    fn an_event_without_a_time_or_without_keys_is_never_stale_and_needs_no_record() {
        // GIVEN an event without occurred_at, and one without keys
        let timeless = event(Protocol::EventsApi, "product.updated", None);
        let mut keyless = event(
            Protocol::EventsApi,
            "product.updated",
            Some("2024-01-01T00:00:00Z"),
        );
        keyless.keys = EntityKeys::default();
        let last = handled(&[("entity#product/uuid/u1", datetime!(2030-01-01 0:00 UTC))]);
        // WHEN they are judged
        // THEN neither is stale nor reads a record
        assert_eq!(staleness(&timeless, &last), None);
        assert_eq!(staleness(&keyless, &last), None);
        assert!(records_to_read(&[Some(&timeless), Some(&keyless), None]).is_empty());
    }

    #[test]
    fn a_batch_reads_each_entity_record_once() {
        // GIVEN two events about the same product
        let a = event(
            Protocol::EventsApi,
            "product.updated",
            Some("2024-01-01T00:00:00Z"),
        );
        let b = a.clone();
        // WHEN the records to read are listed
        // THEN each key appears once
        assert_eq!(
            records_to_read(&[Some(&a), None, Some(&b)]),
            ["entity#product/identifier/sku-1", "entity#product/uuid/u1"]
        );
    }
}
