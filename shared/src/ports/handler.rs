//! The seam where the integrator's business logic plugs in.

use std::future::Future;

use crate::core::event::PimEvent;
use crate::core::processor::stale::StalePolicy;

/// What the business logic decided about one event.
///
/// ```
/// use akeneo_event_relay::Outcome;
///
/// /// What your downstream answered.
/// enum Sent {
///     Stored,
///     Unavailable(String),
///     Refused(String),
/// }
///
/// fn outcome(sent: Sent) -> Outcome {
///     match sent {
///         Sent::Stored => Outcome::Done,
///         // Comes back later, with backoff, until the queue's max receive count.
///         Sent::Unavailable(why) => Outcome::Retry(why),
///         // Goes to the dead-letter queue at once, with this reason.
///         Sent::Refused(why) => Outcome::Reject(why),
///     }
/// }
///
/// assert_eq!(outcome(Sent::Stored), Outcome::Done);
/// assert_eq!(outcome(Sent::Refused("unknown family".into())), Outcome::Reject("unknown family".into()));
/// # let _ = Sent::Unavailable(String::new());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled; the message is deleted.
    Done,
    /// Could not be handled now (a downstream is down, a rate limit): the message
    /// comes back later, with exponential backoff, until the queue's max receive
    /// count sends it to the dead-letter queue.
    Retry(String),
    /// Can never be handled (invalid data for your system): the message goes to
    /// the dead-letter queue at once, with this reason.
    Reject(String),
}

/// Implement this with your business logic. It is called once per event,
/// possibly concurrently for events about different entities; events about the
/// same product or product model arrive one after another, oldest first.
/// With the idempotency store on (the default), an event already handled is
/// not delivered again, and an event older than the newest one handled about
/// its entity is skipped or delivered with `event.stale` set, as
/// [`EventHandler::stale_policy`] decides. Without it, Akeneo's at-least-once
/// delivery reaches you as is: use `event.id` to ignore repeats.
///
/// A panic counts as [`Outcome::Retry`] for that event only.
///
/// Here the processor runs a handler on an event queued in the embedded
/// queue, as `akeneo-relay serve` does; the Lambda runs it the same way (see
/// the crate's example).
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use akeneo_event_relay::adapters::embedded::EmbeddedQueue;
/// use akeneo_event_relay::core::body::split_events;
/// use akeneo_event_relay::core::event::{Action, Entity};
/// use akeneo_event_relay::core::message::OutboundMessage;
/// use akeneo_event_relay::core::processor::{Disposition, Processor, Settings};
/// use akeneo_event_relay::{Current, EventHandler, Outcome, PimEvent, Protocol};
///
/// struct ErpSync;
///
/// impl EventHandler for ErpSync {
///     async fn handle(&self, event: &PimEvent) -> Outcome {
///         match (&event.entity, &event.action, &event.current) {
///             (Entity::Product, Action::Deleted, _) | (Entity::Product, _, Some(Current::Gone)) => {
///                 // ... delete it from the ERP
///                 Outcome::Done
///             }
///             (Entity::Product, _, _) if event.keys.uuid.is_none() => {
///                 Outcome::Reject("a product event without a uuid".into())
///             }
///             // ... send the product (`event.payload()`, `event.current`) to the
///             // ERP; `Outcome::Retry(reason)` when it is unavailable.
///             _ => Outcome::Done,
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let queue = Arc::new(EmbeddedQueue::new("events", Duration::from_secs(30)));
/// let dead_letters = EmbeddedQueue::new("dead-letters", Duration::from_secs(30));
/// let processor = Processor::new(ErpSync, dead_letters, Arc::clone(&queue), Settings::default());
///
/// // One Events API event, queued as the receiver queues it.
/// let body = br#"{"events":[{"action":"product.removed","event_id":"e-1",
///     "event_datetime":"2026-01-05T10:00:00+00:00","author":"julia","author_type":"ui",
///     "pim_source":"https://pim.example.com",
///     "data":{"resource":{"uuid":"cb02315b-a8f6-4580-beee-7624c02c1384","identifier":"sku-1"}}}]}"#;
/// for event in split_events(Protocol::EventsApi, body).expect("an Events API body") {
///     let message = OutboundMessage::build(Protocol::EventsApi, event.raw, &event.fields, "2026-01-05T10:00:01.000Z");
///     queue.push(message.body, HashMap::new());
/// }
///
/// let dispositions = processor.process_batch(&queue.receive_now(10)).await;
/// assert_eq!(dispositions, [Disposition::Done]);
/// # }
/// ```
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event. Answer [`Outcome::Retry`] when a downstream is
    /// unavailable and [`Outcome::Reject`] when the event can never be handled.
    fn handle(&self, event: &PimEvent) -> impl Future<Output = Outcome> + Send;

    /// Whether a stale event (`event.stale` is set) reaches [`Self::handle`].
    /// The default is [`StalePolicy::default_for`]: stale full snapshots and
    /// deletes are skipped, thin and delta events delivered. Override it to
    /// decide per event type, entity or author.
    fn stale_policy(&self, event: &PimEvent) -> StalePolicy {
        StalePolicy::default_for(event)
    }

    /// Handles every pending event of a batch in one call, for logic that
    /// groups its own calls (the EventBridge publisher sends ten events per
    /// call). `Some` answers one outcome per event, in order, and replaces
    /// the per-event calls; `None`, the default, has [`Self::handle`] called
    /// for each event, concurrently but in order per entity.
    fn handle_batch(&self, events: &[&PimEvent]) -> impl Future<Output = Option<Vec<Outcome>>> + Send {
        let _ = events;
        std::future::ready(None)
    }
}
