//! The processor Lambda, assembled around the integrator's business logic: the
//! source queue for visibility changes, the dead-letter queue, S3 for large
//! events, metrics, the idempotency table when configured, and the PIM
//! connection when one is configured (enrichment, own events skipped).

use std::future::Future;
use std::sync::Arc;

use super::destination::{Destination, destination};
use super::{InitError, logged};
use crate::adapters::aws::dynamodb::DynamoDbIdempotencyStore;
use crate::adapters::aws::s3::S3PayloadStore;
use crate::adapters::aws::sdk_config;
use crate::adapters::aws::sqs::SqsQueue;
use crate::config::{DestinationConfig, ProcessorConfig};
use crate::core::processor::Processor;
use crate::observability::metrics::Metrics;
use crate::ports::handler::EventHandler;

/// Reads the environment first, so a missing value stops init before the
/// business logic builds its own clients.
///
/// `logic` is built only when the configuration's destination is the Rust
/// logic (`DESTINATION` unset or `logic`); otherwise events go to the bus or
/// the endpoint it names. Errors (logged first) name the variable or the
/// secret that is missing or invalid.
///
/// The processor Lambda's whole `main.rs`:
///
/// ```no_run
/// use akeneo_event_relay::{EventHandler, Outcome, PimEvent};
///
/// struct BusinessLogic {
///     erp_url: String,
/// }
///
/// impl BusinessLogic {
///     /// Reads its own configuration, once per Lambda instance.
///     async fn from_env() -> BusinessLogic {
///         BusinessLogic { erp_url: std::env::var("ERP_URL").unwrap_or_default() }
///     }
/// }
///
/// impl EventHandler for BusinessLogic {
///     async fn handle(&self, event: &PimEvent) -> Outcome {
///         tracing::info!(erp = self.erp_url.as_str(), event_id = event.id.as_deref(), "to the ERP");
///         Outcome::Done
///     }
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     akeneo_event_relay::observability::init();
///     let processor = akeneo_event_relay::assembly::processor::from_env(BusinessLogic::from_env()).await?;
///     akeneo_event_relay::edges::lambda::sqs_event::run(processor).await
/// }
/// ```
pub async fn from_env<H: EventHandler>(
    logic: impl Future<Output = H>,
) -> Result<Processor<Destination<H>, SqsQueue, SqsQueue>, InitError> {
    let config = ProcessorConfig::from_env().map_err(|e| logged(e.into()))?;
    let sdk = sdk_config().await;
    let logic = destination(&config.destination, logic, &sdk).await?;
    // A destination that cannot carry a large event whole points to its
    // object: it stays for the bucket's lifecycle rule to remove.
    let delete_when_done = config.delete_payloads_when_done && config.destination == DestinationConfig::Logic;
    let source = SqsQueue::new(&sdk, &config.queue_url);
    let dead_letters = SqsQueue::new(&sdk, &config.dead_letter_queue_url);
    // Pointers name their bucket; the processor writes none, so its store has
    // no bucket of its own.
    let payloads = S3PayloadStore::new(&sdk, "");
    let mut processor = Processor::new(logic, dead_letters, source, config.settings)
        .with_payload_store(Arc::new(payloads), delete_when_done)
        .with_metrics(Metrics::from_env())
        .with_ignored_authors(config.ignored_authors.clone());
    if let Some(idempotency) = &config.idempotency {
        let store = DynamoDbIdempotencyStore::new(&sdk, &idempotency.table);
        processor = processor.with_idempotency(Arc::new(store), idempotency.window);
    }
    match &config.pim {
        None => Ok(processor),
        #[cfg(feature = "akeneo")]
        Some(pim) => super::pim::enrich(processor, pim, &sdk).await,
        #[cfg(not(feature = "akeneo"))]
        Some(_) => Err(logged(InitError::PimUnsupported)),
    }
}
