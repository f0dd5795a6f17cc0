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
#[cfg(feature = "akeneo")]
use crate::core::catch_up::CatchUp;
use crate::core::processor::Processor;
#[cfg(feature = "akeneo")]
use crate::core::processor::catch_up_jobs::CatchUpJobs;
#[cfg(feature = "akeneo")]
use crate::core::receiver::LargeEvents;
use crate::observability::metrics::Metrics;
use crate::ports::handler::EventHandler;
use crate::ports::idempotency::IdempotencyStore;
#[cfg(feature = "akeneo")]
use crate::ports::payload_store::PayloadStore;
#[cfg(feature = "akeneo")]
use crate::ports::pim::{TenantPages, UpdatedPages};
#[cfg(feature = "akeneo")]
use crate::ports::queue::{DynQueueSender, SharedQueue};

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
    // Also where the catch-up remembers suspensions.
    let store: Option<Arc<dyn IdempotencyStore>> = config.idempotency.as_ref().map(|idempotency| {
        Arc::new(DynamoDbIdempotencyStore::new(&sdk, &idempotency.table)) as Arc<dyn IdempotencyStore>
    });
    if let (Some(table), Some(idempotency)) = (&store, &config.idempotency) {
        processor = processor.with_idempotency(Arc::clone(table), idempotency.window);
    }
    #[cfg(feature = "akeneo")]
    {
        let mut tenant_pages: Option<Arc<dyn TenantPages>> = None;
        if let Some(tenants) = &config.tenants {
            let (with_tenants, connections) = super::pim::tenants(processor, tenants, &sdk).await?;
            processor = with_tenants;
            tenant_pages = Some(Arc::new(connections));
        }
        // The catch-ups a resume or a schedule asks for, onto the queue the
        // processor consumes: with the stack's own connection, and each
        // tenant's for its own.
        let large_events = config.large_events.bucket.as_ref().map(|bucket| LargeEvents {
            store: Arc::new(S3PayloadStore::new(&sdk, bucket.clone())) as Arc<dyn PayloadStore>,
            key_prefix: config.large_events.key_prefix.clone(),
        });
        let queue = SharedQueue(Arc::new(SqsQueue::new(&sdk, &config.queue_url)) as Arc<dyn DynQueueSender>);
        let max_bytes = config.large_events.max_message_bytes;
        let jobs = match &config.pim {
            None => CatchUpJobs::for_tenants_only(queue, large_events, max_bytes, store),
            Some(pim) => {
                processor = super::pim::enrich(processor, pim, &sdk).await?;
                let client = super::pim::client(pim, Some(&sdk)).await?;
                let runner = CatchUp::new(Arc::new(client) as Arc<dyn UpdatedPages>, queue)
                    .with_large_events(large_events, max_bytes);
                CatchUpJobs::new(runner, &pim.url, store)
            }
        };
        match (tenant_pages, config.pim.is_some()) {
            (Some(tenants), _) => Ok(processor.with_catch_up(jobs.with_tenants(tenants))),
            (None, true) => Ok(processor.with_catch_up(jobs)),
            (None, false) => Ok(processor),
        }
    }
    #[cfg(not(feature = "akeneo"))]
    {
        drop(store);
        if config.tenants.is_some() || config.pim.is_some() {
            return Err(logged(InitError::PimUnsupported));
        }
        Ok(processor)
    }
}
