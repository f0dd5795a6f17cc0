//! Signing secrets from Secrets Manager (moto): loaded at init, reloaded so a
//! rotation takes effect without a redeploy.

use std::time::Duration;

use shared::adapters::aws::secrets_manager::SecretsManagerSource;
use shared::adapters::aws::sqs::SqsQueue;
use shared::core::receiver::Receiver;

use crate::support::akeneo::events_api_headers;
use crate::support::{function_url, moto, wait};

const BODY: &[u8] = br#"{"events":[{"action":"product.updated","event_id":"e1"}]}"#;

async fn status_signed_with(receiver: &Receiver<SqsQueue>, secret: &str) -> u16 {
    let request = function_url::request(
        "POST",
        "/events-api",
        &events_api_headers(secret, BODY),
        BODY,
        false,
    );
    shared::edges::lambda::function_url::respond(receiver, &request)
        .await
        .status()
        .as_u16()
}

async fn create_secret(name: &str, document: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(&moto::sdk().await);
    let name = format!("{name}-{}", std::process::id());
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(document)
        .send()
        .await
        .expect("moto creates secrets");
    created.arn.expect("arn")
}

/// A receiver on a moto queue whose secrets come from `arn`, reloaded every second.
async fn receiver_reading(arn: &str) -> Receiver<SqsQueue> {
    let sdk = moto::sdk().await;
    let queue_url = moto::create_queue(&moto::sqs().await, "secrets-rotation").await;
    let store = SecretsManagerSource::new(&sdk, arn)
        .into_store(Duration::from_secs(1))
        .await
        .expect("loads");
    Receiver::new(SqsQueue::new(&sdk, &queue_url), store, 300)
}

#[tokio::test]
async fn the_secret_loaded_at_init_verifies_requests_and_no_other_does() {
    // GIVEN a receiver whose secret holds "old-secret"
    let arn = create_secret("relay-secrets-init", r#"{"events_api_secrets":"old-secret"}"#).await;
    let receiver = receiver_reading(&arn).await;
    // WHEN requests signed with it and with another secret come in
    let (old, new) = (
        status_signed_with(&receiver, "old-secret").await,
        status_signed_with(&receiver, "new-secret").await,
    );
    // THEN only the loaded one is accepted
    assert_eq!((old, new), (200, 401));
}

#[tokio::test]
async fn a_rotated_secret_takes_effect_after_the_reload_interval_without_a_restart() {
    // GIVEN a receiver loaded with "old-secret", and the secret rotated to "new-secret"
    let arn = create_secret("relay-secrets-rotation", r#"{"events_api_secrets":"old-secret"}"#).await;
    let receiver = receiver_reading(&arn).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&moto::sdk().await);
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"events_api_secrets":["new-secret"]}"#)
        .send()
        .await
        .expect("rotate");
    // WHEN requests keep coming
    // THEN the new secret is accepted within a few reload intervals, and then the old one is not
    wait::until(
        "the rotated secret is accepted",
        Duration::from_secs(10),
        || async { (status_signed_with(&receiver, "new-secret").await == 200).then_some(()) },
    )
    .await;
    assert_eq!(status_signed_with(&receiver, "old-secret").await, 401);
}

#[tokio::test]
async fn a_missing_secret_stops_init_naming_the_variable() {
    // GIVEN an ARN no secret has
    let sdk = moto::sdk().await;
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope";
    // WHEN the receiver loads its secrets at init
    let error = SecretsManagerSource::new(&sdk, arn)
        .into_store(Duration::from_secs(300))
        .await
        .expect_err("init fails");
    // THEN the error says the secret could not be read
    let error = shared::assembly::InitError::from(error);
    assert!(error.to_string().contains("SECRETS_ARN"), "{error}");
}

#[tokio::test]
async fn a_secret_listing_no_signing_secret_stops_init() {
    // GIVEN a secret whose lists are blank
    let arn = create_secret("relay-empty", r#"{"events_api_secrets":"  "}"#).await;
    // WHEN the receiver loads it at init
    let error = SecretsManagerSource::new(&moto::sdk().await, &arn)
        .into_store(Duration::from_secs(300))
        .await
        .expect_err("init fails");
    // THEN the error says so
    assert!(error.to_string().contains("no signing secrets"), "{error}");
}
