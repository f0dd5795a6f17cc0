//! The receiver Lambda: verifies Akeneo's webhook requests and queues their events.

// One thread: Lambda gives an instance one request at a time, and on a
// multi-thread runtime the handoffs between workers (futex wake-ups, context
// switches) cost more CPU per request than the request itself.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init();
    let receiver = shared::assembly::receiver::from_env().await?;
    shared::edges::lambda::function_url::run(receiver).await
}
