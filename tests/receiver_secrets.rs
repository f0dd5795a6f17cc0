//! Signing secrets from Secrets Manager (moto): loaded at init, reloaded so a
//! rotation takes effect without a redeploy.

use std::time::Duration;

use relay_tests::*;
use shared::aws::secrets::SecretsManagerSource;
use shared::aws::sqs::SqsQueue;
use shared::config::ReceiverConfig;
use shared::receiver::{Receiver, lambda::respond};

async fn post_signed(receiver: &Receiver<SqsQueue>, secret: &str) -> u16 {
    let body = br#"{"events":[{"action":"product.updated","event_id":"e1"}]}"#;
    let request = function_url_request(
        "POST",
        "/events-api",
        &events_api_headers(secret, body),
        body,
        false,
    );
    respond(receiver, &request).await.status().as_u16()
}

#[tokio::test]
async fn a_rotated_secret_takes_effect_after_the_reload_interval_without_a_restart() {
    let sdk = shared::aws::sdk_config().await;
    sqs_endpoint();
    let sqs = sqs_client().await;
    let queue_url = create_queue(&sqs, "secrets-rotation").await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("relay-secrets-{}", std::process::id());
    let arn = secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"events_api_secrets":"old-secret"}"#)
        .send()
        .await
        .expect("moto creates secrets")
        .arn
        .expect("arn");

    let config = ReceiverConfig::from_lookup(|var| match var {
        "QUEUE_URL" => Some(queue_url.clone()),
        "SECRETS_ARN" => Some(arn.clone()),
        _ => None,
    })
    .expect("SECRETS_ARN alone is a valid configuration");
    let store = SecretsManagerSource::new(&sdk, &arn)
        .into_store(Duration::from_secs(1))
        .await
        .expect("loads");
    let receiver = Receiver::new(&config, SqsQueue::new(&sdk, &queue_url)).with_secrets(store);

    assert_eq!(post_signed(&receiver, "old-secret").await, 200);
    assert_eq!(post_signed(&receiver, "new-secret").await, 401);

    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"events_api_secrets":["new-secret"]}"#)
        .send()
        .await
        .expect("rotate");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // This request starts the reload and is verified with what was loaded.
    assert_eq!(post_signed(&receiver, "old-secret").await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(post_signed(&receiver, "new-secret").await, 200);
    assert_eq!(post_signed(&receiver, "old-secret").await, 401);
}

#[tokio::test]
async fn init_fails_naming_the_problem_when_the_secret_is_missing_or_empty() {
    let sdk = shared::aws::sdk_config().await;
    sqs_endpoint();
    let missing =
        SecretsManagerSource::new(&sdk, "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope")
            .into_store(Duration::from_secs(300))
            .await
            .err()
            .expect("a missing secret stops init");
    assert!(missing.to_string().contains("SECRETS_ARN"), "{missing}");

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("relay-empty-{}", std::process::id());
    let arn = secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"events_api_secrets":"  "}"#)
        .send()
        .await
        .expect("create")
        .arn
        .expect("arn");
    let empty = SecretsManagerSource::new(&sdk, &arn)
        .into_store(Duration::from_secs(300))
        .await
        .err()
        .expect("empty");
    assert!(empty.to_string().contains("no signing secrets"), "{empty}");
}
