//! The receiver Lambda, assembled: SQS, the signing secrets (Secrets Manager
//! when `SECRETS_ARN` is set), metrics.

use super::{InitError, logged};
use crate::adapters::aws::sdk_config;
use crate::adapters::aws::secrets_manager::SecretsManagerSource;
use crate::adapters::aws::sqs::SqsQueue;
use crate::config::ReceiverConfig;
use crate::core::receiver::{Receiver, RouteSecrets, SecretStore};
use crate::observability::metrics::Metrics;

/// Reads the environment and builds the receiver. The secret load and the
/// queue connection both reach the network, so they run side by side.
pub async fn from_env() -> Result<Receiver<SqsQueue>, InitError> {
    let config = ReceiverConfig::from_env().map_err(|e| logged(e.into()))?;
    let sdk = sdk_config().await;
    let queue = SqsQueue::new(&sdk, &config.queue_url);
    let secrets = async {
        match &config.secrets_arn {
            Some(arn) => SecretsManagerSource::new(&sdk, arn)
                .into_store(config.secrets_refresh)
                .await
                .map_err(InitError::from),
            None => Ok(SecretStore::fixed(RouteSecrets {
                events_api: config.events_api_secrets.clone(),
                event_platform: config.event_platform_secrets.clone(),
            })),
        }
    };
    let (secrets, ()) = tokio::join!(secrets, queue.warm_up());
    let receiver = Receiver::new(queue, secrets.map_err(logged)?, config.events_api_tolerance_secs);
    Ok(receiver.with_metrics(Metrics::from_env()))
}
