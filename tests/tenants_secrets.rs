//! Tenants from Secrets Manager (moto), as the Lambdas read them: the
//! receiver's tenant routes from the tenants secret beside the signing
//! secrets, a tenant added later served after the reload, and the
//! processor's enrichment of each tenant's events from its own PIM.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::adapters::aws::secrets_manager::SecretsManagerSource;
use shared::adapters::aws::sqs::SqsQueue;
use shared::config::TenantsConfig;
use shared::core::processor::{Disposition, Processor, Settings};
use shared::core::receiver::tenant_source::WithTenants;
use shared::core::receiver::{Receiver, SecretStore};
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use shared::{Current, EventHandler, Outcome, PimEvent};

use crate::support::akeneo::event_platform_headers;
use crate::support::events::tenant_product_updated;
use crate::support::moto::create_secret;
use crate::support::pim::{self, PimServer};
use crate::support::{fixture, function_url, moto, wait};

const ACME_PRODUCT: &str = "0a000000-0000-4000-8000-000000000001";
const BETA_PRODUCT: &str = "0b000000-0000-4000-8000-000000000002";

async fn status_at(receiver: &Receiver<SqsQueue>, path: &str, secret: &str) -> u16 {
    let body = fixture("event-platform/product.updated.json");
    let request = function_url::request(
        "POST",
        path,
        &event_platform_headers(&[secret], &body),
        &body,
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

async fn put_secret(arn: &str, document: &str) {
    SecretsManagerSource::new(&moto::sdk().await, arn)
        .put_secret_string(document)
        .await
        .expect("moto stores it");
}

#[tokio::test]
async fn a_tenant_added_to_the_tenants_secret_is_served_after_the_reload_and_a_rewritten_signing_secret_keeps_it()
 {
    // GIVEN a receiver reading its signing secret and the tenants secret (acme), every second
    let signing = create_secret("tenants-signing", r#"{"event_platform_secrets":"top"}"#).await;
    let tenants = create_secret(
        "tenants-document",
        r#"{"tenants":{"acme":{"event_platform_secrets":"acme-secret"}}}"#,
    )
    .await;
    let sdk = moto::sdk().await;
    let source = WithTenants::new(
        Arc::new(SecretsManagerSource::new(&sdk, &signing)),
        Arc::new(SecretsManagerSource::new(&sdk, &tenants)),
    );
    let store = SecretStore::load_then_reload(Arc::new(source), Duration::from_secs(1))
        .await
        .expect("loads");
    let queue_url = moto::create_queue(&moto::sqs().await, "tenants-reload").await;
    let receiver = Receiver::new(SqsQueue::new(&sdk, &queue_url), store, 300);
    let before = status_at(&receiver, "/t/beta/event-platform", "beta-secret").await;
    // WHEN beta is added to the tenants secret, and the signing secret is rewritten as a stack update would
    put_secret(
        &tenants,
        r#"{"tenants":{"acme":{"event_platform_secrets":"acme-secret"},"beta":{"event_platform_secrets":"beta-secret"}}}"#,
    )
    .await;
    put_secret(&signing, r#"{"event_platform_secrets":"top"}"#).await;
    // THEN beta, unknown at first, is served after the reload, and acme still is
    assert_eq!(before, 404);
    wait::until("beta served", Duration::from_secs(10), || async {
        (status_at(&receiver, "/t/beta/event-platform", "beta-secret").await == 200).then_some(())
    })
    .await;
    assert_eq!(
        status_at(&receiver, "/t/acme/event-platform", "acme-secret").await,
        200
    );
}

/// Records the `uuid` of what each event was given, "gone" or "none".
#[derive(Default)]
struct Logic {
    seen: Mutex<HashMap<String, String>>,
}

impl EventHandler for Logic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let given = match &event.current {
            Some(Current::Found(raw)) => serde_json::from_str::<serde_json::Value>(raw.get()).expect("JSON")
                ["uuid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Some(Current::Gone) => "gone".into(),
            None => "none".into(),
        };
        let id = format!(
            "{}/{}",
            event.tenant.as_deref().unwrap_or("-"),
            event.id.as_deref().unwrap_or("-")
        );
        self.seen.lock().expect("lock").insert(id, given);
        Outcome::Done
    }
}

#[tokio::test]
async fn the_processor_reads_each_tenants_events_from_the_pim_its_secret_names() {
    // GIVEN two PIMs, each knowing one product, named by acme's and beta's entries of the tenants secret
    let acme_pim = PimServer::start(pim::Config::default(), &[ACME_PRODUCT], &[]).await;
    let beta_pim = PimServer::start(pim::Config::default(), &[BETA_PRODUCT], &[]).await;
    let connection = |url: &str| {
        serde_json::json!({"url": url, "client_id": pim::CLIENT_ID, "client_secret": pim::CLIENT_SECRET,
            "username": pim::USERNAME, "password": pim::PASSWORD})
    };
    let document = serde_json::json!({"tenants": {
        "acme": {"pim": connection(&acme_pim.url)},
        "beta": {"pim": connection(&beta_pim.url)},
        "gamma": {}}});
    let arn = create_secret("tenants-pims", &document.to_string()).await;
    let config =
        TenantsConfig::from_lookup(&|name: &str| (name == "TENANT_PIMS_SECRET_ARN").then(|| arn.clone()))
            .expect("valid")
            .expect("tenants");
    let processor = Processor::new(
        Logic::default(),
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    );
    // WHEN the processor's assembler reads the tenants and a batch of each tenant's events runs
    let (processor, _) = shared::assembly::pim::tenants(processor, &config, &moto::sdk().await)
        .await
        .expect("assembled");
    let dispositions = processor
        .process_batch(&[
            tenant_product_updated("acme", "e-1", ACME_PRODUCT),
            tenant_product_updated("beta", "e-1", ACME_PRODUCT),
            tenant_product_updated("beta", "e-2", BETA_PRODUCT),
            tenant_product_updated("gamma", "e-1", BETA_PRODUCT),
        ])
        .await;
    // THEN each event was given what its own tenant's PIM has, and gamma's nothing
    assert!(
        dispositions.iter().all(|d| *d == Disposition::Done),
        "{dispositions:?}"
    );
    let seen = processor.handler().seen.lock().expect("lock").clone();
    let expected: HashMap<String, String> = [
        ("acme/e-1", ACME_PRODUCT),
        ("beta/e-1", "gone"),
        ("beta/e-2", BETA_PRODUCT),
        ("gamma/e-1", "none"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(seen, expected);
}
