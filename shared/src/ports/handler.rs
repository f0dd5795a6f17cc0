//! The seam where the integrator's business logic plugs in.

use std::future::Future;

use crate::core::event::PimEvent;
use crate::core::processor::stale::StalePolicy;

/// What the business logic decided about one event.
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
pub trait EventHandler: Send + Sync + 'static {
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
