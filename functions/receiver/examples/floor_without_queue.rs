//! A reference for `scripts/bench-lambda --floors`: the receiver as deployed
//! (parse, verify, split, build messages, log, metrics) with a queue that
//! accepts every message without a network call. Its distance to the real
//! receiver is what the SQS call costs.

use shared::config::ReceiverConfig;
use shared::core::receiver::{Receiver, RouteSecrets, SecretStore};
use shared::observability::metrics::Metrics;
use shared::ports::queue::{BatchEntry, BatchReport, QueueError, QueueSender, QueuedEntry};

struct AcceptingQueue;

impl QueueSender for AcceptingQueue {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let queued = entries
            .iter()
            .map(|entry| QueuedEntry {
                id: entry.id.to_owned(),
                message_id: entry.id.to_owned(),
            })
            .collect();
        Ok(BatchReport {
            queued,
            failed: Vec::new(),
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init();
    let config = ReceiverConfig::from_env()?;
    let secrets = SecretStore::fixed(RouteSecrets {
        events_api: config.events_api_secrets,
        event_platform: config.event_platform_secrets,
        notifications: config.notification_secrets,
        ..RouteSecrets::default()
    });
    let receiver = Receiver::new(AcceptingQueue, secrets, config.events_api_tolerance_secs)
        .with_metrics(Metrics::from_env());
    shared::edges::lambda::function_url::run(receiver).await
}
