//! Your business logic goes here. See docs/src/business-logic.md.

use shared::adapters::logging_handler::LoggingHandler;
use shared::core::event::{Action, Entity};
use shared::{Current, EventHandler, Outcome, PimEvent};

/// Built once per Lambda instance, during init: put your clients (HTTP, the PIM
/// API, a database pool) in here and read their configuration in `from_env`.
/// `shared::assembly::pim::client_from_env()` gives the PIM connection's client
/// for writes (docs/src/pim-connection.md).
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
        match (&event.entity, &event.action, &event.current) {
            // Replace these arms with your own calls. Answer `Outcome::Retry` when
            // a downstream is unavailable and `Outcome::Reject` when the event
            // can never be handled; a panic retries the event.
            //
            // With a PIM connection configured (`PIM_URL`), product and product
            // model events carry what the PIM has now, read once for the whole
            // batch: `Current::Found(json)` (`current.parse::<YourProduct>()`)
            // or `Current::Gone` (deleted since the event).
            (Entity::Product, Action::Created | Action::Updated, Some(Current::Found(_))) => {
                self.log.handle(event).await
            }
            (Entity::Product, _, Some(Current::Gone)) | (Entity::Product, Action::Deleted, _) => {
                self.log.handle(event).await
            }
            _ => self.log.handle(event).await,
        }
    }

    // Stale events (older than one already handled about the same entity):
    // full snapshots and deletes are skipped, the others reach `handle` with
    // `event.stale` set. Override `fn stale_policy(&self, event: &PimEvent)
    // -> shared::StalePolicy` to decide otherwise (docs/src/idempotency.md).
}
