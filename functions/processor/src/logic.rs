//! Your business logic goes here. See "Your business logic" in the README.

use shared::adapters::logging_handler::LoggingHandler;
use shared::core::event::{Action, Entity};
use shared::{EventHandler, Outcome, PimEvent};

/// Built once per Lambda instance, during init: put your clients (HTTP, the PIM
/// API, a database pool) in here and read their configuration in `from_env`.
pub struct BusinessLogic {
    log: LoggingHandler,
}

impl BusinessLogic {
    pub async fn from_env() -> BusinessLogic {
        BusinessLogic { log: LoggingHandler }
    }
}

impl EventHandler for BusinessLogic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        match (&event.entity, &event.action) {
            // Replace these arms with your own calls. Answer `Outcome::Retry` when
            // a downstream is unavailable and `Outcome::Reject` when the event
            // can never be handled; a panic retries the event.
            (Entity::Product, Action::Created | Action::Updated) => self.log.handle(event).await,
            (Entity::Product, Action::Deleted) => self.log.handle(event).await,
            _ => self.log.handle(event).await,
        }
    }

    // Stale events (older than one already handled about the same entity):
    // full snapshots and deletes are skipped, the others reach `handle` with
    // `event.stale` set. Override `fn stale_policy(&self, event: &PimEvent)
    // -> shared::StalePolicy` to decide otherwise (README, "Duplicate and
    // stale events").
}
