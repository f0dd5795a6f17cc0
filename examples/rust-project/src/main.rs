//! The processor Lambda with your business logic: the relay's processor
//! (batching, retries with backoff, the dead-letter queue, duplicate and
//! stale skipping, PIM enrichment) around `logic::MyLogic`.

mod logic;

use akeneo_event_relay::{assembly, edges, observability};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    observability::init();
    let processor = assembly::processor::from_env(logic::MyLogic::from_env()).await?;
    edges::lambda::sqs_event::run(processor).await
}
