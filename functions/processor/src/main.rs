//! The processor Lambda: consumes the queue and runs the business logic in
//! `logic.rs` on each event.

mod logic;

use shared::aws::{sdk_config, sqs::SqsQueue};
use shared::config::ProcessorConfig;
use shared::metrics::Metrics;
use shared::processor::{Processor, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init();
    let config =
        ProcessorConfig::from_env().inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;
    let sdk = sdk_config().await;
    let source = SqsQueue::new(&sdk, &config.queue_url);
    let dead_letters = SqsQueue::new(&sdk, &config.dead_letter_queue_url);
    let logic = logic::BusinessLogic::from_env().await;
    let processor = Processor::new(&config, logic, dead_letters, source).with_metrics(Metrics::from_env());
    lambda::run(processor).await
}
