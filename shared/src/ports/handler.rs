//! The seam where the integrator's business logic plugs in.

use std::future::Future;

use crate::core::event::PimEvent;

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
/// Akeneo delivers at least once: use `event.id` to ignore repeats.
///
/// A panic counts as [`Outcome::Retry`] for that event only.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(&self, event: &PimEvent) -> impl Future<Output = Outcome> + Send;
}
