//! Secrets from Secrets Manager (moto): the signing secrets, loaded at init and
//! reloaded so a rotation takes effect without a redeploy; the PIM
//! connection's credentials, read at init.

use std::time::Duration;

use shared::config::{PIM_SECRET_ARN, PIM_URL, PimConfig};
use tokio::time::Instant;

use shared::adapters::aws::secrets_manager::SecretsManagerSource;
use shared::adapters::aws::sqs::SqsQueue;
use shared::core::receiver::Receiver;

use crate::support::akeneo::events_api_headers;
use crate::support::moto::create_secret;
use crate::support::pim::{self, PimServer};
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
    shared::edges::lambda::function_url::respond(
        receiver,
        shared::edges::lambda::function_url::LambdaRequest::ApiGatewayV2(request),
    )
    .await
    .status()
    .as_u16()
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
async fn the_templates_empty_document_starts_the_receiver_and_a_secret_stored_later_is_taken() {
    // GIVEN the document the template writes with its parameters left empty
    let arn = create_secret(
        "relay-empty",
        r#"{"events_api_secrets":"","event_platform_secrets":"","notification_secret":""}"#,
    )
    .await;
    // WHEN the receiver loads it at init, then a secret is stored
    let receiver = receiver_reading(&arn).await;
    let before = status_signed_with(&receiver, "new-secret").await;
    aws_sdk_secretsmanager::Client::new(&moto::sdk().await)
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(
            r#"{"events_api_secrets":"new-secret","event_platform_secrets":"","notification_secret":""}"#,
        )
        .send()
        .await
        .expect("store");
    // THEN it starts, the route answers 404 until then, and takes the secret within a few reloads
    assert_eq!(before, 404);
    wait::until(
        "the stored secret is accepted",
        Duration::from_secs(10),
        || async { (status_signed_with(&receiver, "new-secret").await == 200).then_some(()) },
    )
    .await;
}

fn pim_config(url: &str, arn: &str) -> PimConfig {
    PimConfig::from_lookup(&|name: &str| match name {
        PIM_URL => Some(url.to_owned()),
        PIM_SECRET_ARN => Some(arn.to_owned()),
        _ => None,
    })
    .expect("valid")
    .expect("a PIM connection")
}

#[tokio::test]
async fn the_pim_connection_credentials_come_from_their_secret() {
    // GIVEN a PIM test server and a secret holding its connection's four credentials
    let server = PimServer::start(
        pim::Config::default(),
        &["6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"],
        &[],
    )
    .await;
    let document = serde_json::json!({
        "client_id": pim::CLIENT_ID, "client_secret": pim::CLIENT_SECRET,
        "username": pim::USERNAME, "password": pim::PASSWORD,
    });
    let arn = create_secret("relay-pim-connection", &document.to_string()).await;
    // WHEN the processor's assembler builds the client from PIM_URL and PIM_SECRET_ARN
    let sdk = moto::sdk().await;
    let client = shared::assembly::pim::client(&pim_config(&server.url, &arn), Some(&sdk))
        .await
        .expect("a client");
    // THEN it authenticates as that connection and reads products
    let product = client
        .product(
            "6a9f8486-2c36-4680-b87f-6f5f8f01b6cf",
            Instant::now() + Duration::from_secs(5),
        )
        .await
        .expect("read");
    assert!(product.is_some());
    assert_eq!(client.username(), pim::USERNAME);
    assert_eq!(server.counts().password_grants, 1);
}

#[tokio::test]
async fn a_pim_connection_secret_missing_a_credential_stops_init_naming_it_and_no_value() {
    // GIVEN a secret without the password
    let document = r#"{"client_id":"id","client_secret":"the-client-secret","username":"relay"}"#;
    let arn = create_secret("relay-pim-partial", document).await;
    // WHEN the assembler builds the client
    let sdk = moto::sdk().await;
    let error = shared::assembly::pim::client(&pim_config("https://pim.example.com", &arn), Some(&sdk))
        .await
        .expect_err("init fails");
    // THEN the error names the variable and the field, and shows no secret
    let text = error.to_string();
    assert!(
        text.contains("PIM_SECRET_ARN") && text.contains("password"),
        "{text}"
    );
    assert!(!text.contains("the-client-secret"), "{text}");
}
