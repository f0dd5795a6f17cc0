//! The receiver Lambda: verifies Akeneo's webhook requests and queues their events.

use shared::aws::{sdk_config, secrets::SecretsManagerSource, sqs::SqsQueue};
use shared::config::ReceiverConfig;
use shared::metrics::Metrics;
use shared::receiver::{Receiver, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init();
    let config =
        ReceiverConfig::from_env().inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let queue = SqsQueue::new(&sdk, &config.queue_url);
    // Both reach the network: run them side by side within init.
    let secrets = async {
        match &config.secrets_arn {
            Some(arn) => SecretsManagerSource::new(&sdk, arn)
                .into_store(config.secrets_refresh)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let (secrets, ()) = tokio::join!(secrets, queue.warm_up());
    let secrets = secrets.inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;

    let mut receiver = Receiver::new(&config, queue).with_metrics(Metrics::from_env());
    if let Some(store) = secrets {
        receiver = receiver.with_secrets(store);
    }
    lambda::run(receiver).await
}
