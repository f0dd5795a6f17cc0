//! The receiver Lambda: verifies Akeneo's webhook requests and queues their events.

use shared::aws::{sdk_config, sqs::SqsQueue};
use shared::config::ReceiverConfig;
use shared::receiver::{Receiver, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init();
    let config =
        ReceiverConfig::from_env().inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;
    let queue = SqsQueue::new(&sdk_config().await, &config.queue_url);
    queue.warm_up().await;
    lambda::run(Receiver::new(&config, queue)).await
}
