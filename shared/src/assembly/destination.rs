//! The processor's business logic, as its configuration chooses: the Rust
//! logic built into it, the EventBridge publisher, or the HTTPS forwarder.

use std::sync::Arc;

use super::{InitError, logged};
use crate::adapters::aws::SdkConfig;
use crate::adapters::aws::eventbridge::EventBridgeBus;
use crate::adapters::aws::secrets_manager::SecretsManagerSource;
use crate::adapters::webhook::WebhookForwarder;
use crate::config::{DestinationConfig, ForwardConfig, ForwardSecret};
use crate::core::destination::publisher::BusPublisher;
use crate::core::destination::standard_webhooks::SigningKey;
use crate::core::event::PimEvent;
use crate::core::processor::stale::StalePolicy;
use crate::observability::metrics::Metrics;
use crate::ports::handler::{EventHandler, Outcome};

/// Where the processor sends events, as its configuration chooses; an
/// [`EventHandler`] whichever it is.
pub enum Destination<H> {
    /// The Rust business logic built into the processor.
    Logic(H),
    /// The EventBridge publisher (`DESTINATION=eventbridge`).
    Bus(BusPublisher),
    /// The HTTPS forwarder (`DESTINATION=https`).
    Https(Box<WebhookForwarder>),
}

impl<H: EventHandler> EventHandler for Destination<H> {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        match self {
            Destination::Logic(logic) => logic.handle(event).await,
            Destination::Bus(publisher) => publisher.handle(event).await,
            Destination::Https(forwarder) => forwarder.handle(event).await,
        }
    }

    fn stale_policy(&self, event: &PimEvent) -> StalePolicy {
        match self {
            Destination::Logic(logic) => logic.stale_policy(event),
            _ => StalePolicy::default_for(event),
        }
    }

    async fn handle_batch(&self, events: &[&PimEvent]) -> Option<Vec<Outcome>> {
        match self {
            Destination::Logic(logic) => logic.handle_batch(events).await,
            Destination::Bus(publisher) => publisher.handle_batch(events).await,
            Destination::Https(_) => None,
        }
    }
}

/// Builds the destination `config` names; the Rust logic is only built when
/// it is the one.
pub async fn destination<H: EventHandler>(
    config: &DestinationConfig,
    logic: impl Future<Output = H>,
    sdk: &SdkConfig,
) -> Result<Destination<H>, InitError> {
    match config {
        DestinationConfig::Logic => Ok(Destination::Logic(logic.await)),
        DestinationConfig::EventBridge { bus, entry_limit } => Ok(Destination::Bus(
            BusPublisher::new(Arc::new(EventBridgeBus::new(sdk, bus)))
                .with_entry_limit(*entry_limit)
                .with_metrics(Metrics::from_env()),
        )),
        DestinationConfig::Https(forward) => {
            Ok(Destination::Https(Box::new(forwarder(forward, Some(sdk)).await?)))
        }
    }
}

/// The HTTPS forwarder, its secret read from Secrets Manager when named.
pub async fn forwarder(
    config: &ForwardConfig,
    sdk: Option<&SdkConfig>,
) -> Result<WebhookForwarder, InitError> {
    let text = match (&config.secret, sdk) {
        (ForwardSecret::Value(value), _) => value.clone(),
        (ForwardSecret::Arn(arn), Some(sdk)) => SecretsManagerSource::new(sdk, arn)
            .secret_string()
            .await
            .map_err(|error| logged(InitError::ForwardSecret(error.to_string())))?,
        (ForwardSecret::Arn(_), None) => {
            return Err(logged(InitError::ForwardSecret(
                "no AWS configuration to read it with".into(),
            )));
        }
    };
    let key =
        SigningKey::parse(&text).map_err(|error| logged(InitError::ForwardSecret(error.to_string())))?;
    WebhookForwarder::new(&config.url, key, config.concurrency, config.timeout)
        .map(|forwarder| forwarder.with_metrics(Metrics::from_env()))
        .map_err(|error| logged(InitError::Forwarder(error.to_string())))
}
