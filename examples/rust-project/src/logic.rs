//! Your business logic: one method per event. Answer `Retry` when a
//! downstream is unavailable (the event comes back later, with backoff) and
//! `Reject` when it can never be handled (it goes to the dead-letter queue
//! with your reason); a panic retries the event.

use akeneo_event_relay::core::event::{Action, Entity};
use akeneo_event_relay::{Current, EventHandler, Outcome, PimEvent};

/// Built once per Lambda instance: put your clients (HTTP, a database pool,
/// `akeneo_event_relay::assembly::pim::client_from_env()` for PIM writes) here.
pub struct MyLogic;

impl MyLogic {
    /// Your clients and their configuration, read once at init (the processor
    /// awaits it only when it runs your logic, not for another destination).
    pub async fn from_env() -> MyLogic {
        MyLogic
    }
}

impl EventHandler for MyLogic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        match (&event.entity, &event.action, &event.current) {
            // With a PIM connection, product events carry the product as the PIM has it now.
            (Entity::Product, Action::Created | Action::Updated, Some(Current::Found(product))) => {
                tracing::info!(bytes = product.get().len(), "sync this product to your store");
                Outcome::Done
            }
            (Entity::Product, Action::Deleted, _) | (Entity::Product, _, Some(Current::Gone)) => {
                tracing::info!(keys = ?event.entity_keys(), "remove this product from your store");
                Outcome::Done
            }
            _ => Outcome::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue message as the relay's receiver writes it (the envelope, version 1).
    const DELETED: &str = r#"{"v":1,"protocol":"event-platform","id":"018e197c-dfe2-70f8-9346-1a8e016f5fbb","type":"com.akeneo.pim.v1.product.deleted","occurred_at":"2024-03-07T15:16:37Z","event":{"specversion":"1.0","id":"018e197c-dfe2-70f8-9346-1a8e016f5fbb","type":"com.akeneo.pim.v1.product.deleted","source":"akeneo-event-platform","subject":"0190fe8a-6213-76ce-8a9f-ba36a5ef555a","time":"2024-03-07T15:16:37Z","data":{"product":{"uuid":"3444ec1b-058e-4208-9b6c-284f47a7aa17","identifier":"my-product-identifier"},"author":{"identifier":"b238e9f7-fcec-45bd-9431-d43cd624b244","type":"api"}}}}"#;

    #[tokio::test]
    async fn a_deleted_product_is_handled() {
        // GIVEN a product.deleted event from the queue
        let event = PimEvent::from_message_body(DELETED).expect("a valid envelope");
        // WHEN the logic handles it
        let outcome = MyLogic.handle(&event).await;
        // THEN it is done
        assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
        assert_eq!(event.entity, Entity::Product);
    }
}
