//! The receiver Lambda: verifies Akeneo's webhook requests and queues their events.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::observability::init();
    let receiver = shared::assembly::receiver::from_env().await?;
    shared::edges::lambda::function_url::run(receiver).await
}
