//! The receiver Lambda, assembled: SQS (`SendMessageBatch` through aws-sdk-sqs), S3 for large events (when
//! `PAYLOAD_BUCKET` is set), the signing secrets (Secrets Manager when
//! `SECRETS_ARN` is set), metrics.

use std::sync::Arc;

use super::{InitError, logged};
use crate::adapters::aws::s3::S3PayloadStore;
use crate::adapters::aws::sdk_config;
use crate::adapters::aws::secrets_manager::{InitialLoadError, SecretsManagerSource};
use crate::adapters::aws::sqs::SqsQueue;
use crate::config::ReceiverConfig;
use crate::core::receiver::tenant_source::{Fixed, WithTenants};
use crate::core::receiver::{LargeEvents, Receiver, RouteSecrets, SecretStore};
use crate::observability::metrics::Metrics;
use crate::ports::secrets::SecretSource;

/// Reads the environment and builds the receiver. The secret load and the
/// connections to SQS and S3 all reach the network, so they run side by side.
/// Errors (logged first) name the variable or the secret that is missing or
/// invalid.
///
/// The receiver Lambda's whole `main.rs`:
///
/// ```no_run
/// // One thread: Lambda gives an instance one request at a time.
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     akeneo_event_relay::observability::init();
///     let receiver = akeneo_event_relay::assembly::receiver::from_env().await?;
///     akeneo_event_relay::edges::lambda::function_url::run(receiver).await
/// }
/// ```
pub async fn from_env() -> Result<Receiver<SqsQueue>, InitError> {
    let config = ReceiverConfig::from_env().map_err(|e| logged(e.into()))?;
    let sdk = sdk_config().await;
    let queue = SqsQueue::new(&sdk, &config.queue_url);
    let payloads = config
        .large_events
        .bucket
        .as_ref()
        .map(|bucket| S3PayloadStore::new(&sdk, bucket));
    let secrets = async {
        let top_level = || RouteSecrets {
            events_api: config.events_api_secrets.clone(),
            event_platform: config.event_platform_secrets.clone(),
            notifications: config.notification_secrets.clone(),
            ..RouteSecrets::default()
        };
        match (&config.secrets_arn, &config.tenants_secret_arn) {
            (Some(arn), None) => SecretsManagerSource::new(&sdk, arn)
                .into_store(config.secrets_refresh)
                .await
                .map_err(InitError::from),
            (None, None) => Ok(SecretStore::fixed(top_level())),
            (arn, Some(tenants)) => {
                let base: Arc<dyn SecretSource> = match arn {
                    Some(arn) => Arc::new(SecretsManagerSource::new(&sdk, arn)),
                    None => Arc::new(Fixed(top_level())),
                };
                let tenants = Arc::new(SecretsManagerSource::new(&sdk, tenants));
                SecretStore::load_then_reload(
                    Arc::new(WithTenants::new(base, tenants)),
                    config.secrets_refresh,
                )
                .await
                .map_err(|e| InitError::from(InitialLoadError::from(e)))
            }
        }
    };
    let warm_up_payloads = async {
        if let Some(payloads) = &payloads {
            payloads.warm_up().await;
        }
    };
    let (secrets, (), ()) = tokio::join!(secrets, queue.warm_up(), warm_up_payloads);
    let mut receiver = Receiver::new(queue, secrets.map_err(logged)?, config.events_api_tolerance_secs)
        .with_max_message_bytes(config.large_events.max_message_bytes);
    if let Some(payloads) = payloads {
        receiver = receiver.with_large_events(LargeEvents {
            store: Arc::new(payloads),
            key_prefix: config.large_events.key_prefix.clone(),
        });
    }
    Ok(receiver.with_metrics(Metrics::from_env()))
}
