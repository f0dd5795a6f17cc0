//! A reference for `scripts/bench-lambda --floors`: the receiver as deployed,
//! but sending through `aws-sdk-sqs` (`SqsQueue`) instead of its own
//! `SendMessageBatch` (`DirectSqsSender`). Its distance to the real receiver
//! is what the SDK's per-call machinery costs (BENCHMARKS.md, issue 13).

use shared::adapters::aws::sdk_config;
use shared::adapters::aws::sqs::SqsQueue;
use shared::config::ReceiverConfig;
use shared::core::receiver::{Receiver, RouteSecrets, SecretStore};
use shared::observability::metrics::Metrics;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init();
    let config = ReceiverConfig::from_env()?;
    let queue = SqsQueue::new(&sdk_config().await, &config.queue_url);
    queue.warm_up().await;
    let secrets = SecretStore::fixed(RouteSecrets {
        events_api: config.events_api_secrets,
        event_platform: config.event_platform_secrets,
        notifications: config.notification_secrets,
    });
    let receiver =
        Receiver::new(queue, secrets, config.events_api_tolerance_secs).with_metrics(Metrics::from_env());
    shared::edges::lambda::function_url::run(receiver).await
}
