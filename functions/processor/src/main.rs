//! The processor Lambda: consumes the queue and runs the business logic in
//! `logic.rs` on each event.

mod logic;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init();
    let processor = shared::assembly::processor::from_env(logic::BusinessLogic::from_env()).await?;
    shared::edges::lambda::sqs_event::run(processor).await
}
