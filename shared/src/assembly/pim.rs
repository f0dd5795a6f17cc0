//! The PIM connection, assembled: its credentials from the environment or
//! from the Secrets Manager secret `PIM_SECRET_ARN` names, its client, and
//! the processor's enrichment and own-event skipping.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{InitError, logged};
use crate::adapters::akeneo::tenants::DocumentReload;
use crate::adapters::akeneo::{ConnectionSettings, PimClient, TenantConnections};
use crate::adapters::aws::SdkConfig;
use crate::adapters::aws::sdk_config;
use crate::adapters::aws::secrets_manager::SecretsManagerSource;
use crate::config::{CredentialSource, Credentials, PimConfig, TenantsConfig};
use crate::core::processor::Processor;
use crate::core::processor::own_events::OwnAuthors;
use crate::core::tenant::{TenantPim, pim_connections};
use crate::ports::pim::PimReader;

/// How long init waits for the first token (a failure is logged, not fatal:
/// the first batch asks again).
const WARM_UP: Duration = Duration::from_secs(3);

/// The configured connection's client, for business logic that calls the PIM
/// itself (writes, other endpoints); `None` when no PIM is configured. It
/// shares its token and its limit on calls in flight with the processor's.
///
/// The book's handler that writes back (docs/src/pim-connection.md) (kept here so it compiles):
///
/// ```no_run
/// use akeneo_event_relay::adapters::akeneo::PimClient;
/// use akeneo_event_relay::{Current, EventHandler, Outcome, PimEvent};
/// use tokio::time::{Duration, Instant};
///
/// pub struct BusinessLogic {
///     pim: PimClient,
/// }
///
/// impl BusinessLogic {
///     pub async fn from_env() -> BusinessLogic {
///         // The same connection as the processor's: one token, one limit.
///         let pim = akeneo_event_relay::assembly::pim::client_from_env().await.expect("a valid PIM configuration");
///         BusinessLogic { pim: pim.expect("PIM_URL is set") }
///     }
/// }
///
/// impl EventHandler for BusinessLogic {
///     async fn handle(&self, event: &PimEvent) -> Outcome {
///         let (Some(Current::Found(_product)), Some(uuid)) = (&event.current, event.keys.uuid.as_deref()) else {
///             return Outcome::Done;
///         };
///         // ... push `_product` to your ERP, then record it in the PIM:
///         let changes = serde_json::json!({"values": {"erp_status": [{"locale": null, "scope": null, "data": "synced"}]}});
///         match self.pim.patch_product(uuid, &changes, Instant::now() + Duration::from_secs(20)).await {
///             Ok(()) => Outcome::Done,
///             Err(e) if e.is_transient() => Outcome::Retry(e.to_string()),
///             Err(e) => Outcome::Reject(e.to_string()),
///         }
///     }
/// }
/// ```
pub async fn client_from_env() -> Result<Option<PimClient>, InitError> {
    let config =
        PimConfig::from_lookup(&|name: &str| std::env::var(name).ok()).map_err(|e| logged(e.into()))?;
    match config {
        None => Ok(None),
        Some(config) => {
            let sdk = match &config.credentials {
                CredentialSource::Secret { .. } => Some(sdk_config().await),
                CredentialSource::Given(_) => None,
            };
            client(&config, sdk.as_ref()).await.map(Some)
        }
    }
}

/// The client of `config`'s connection; `sdk` reads its secret, if it has one.
pub async fn client(config: &PimConfig, sdk: Option<&SdkConfig>) -> Result<PimClient, InitError> {
    let credentials = credentials(config, sdk).await?;
    let settings = ConnectionSettings {
        max_concurrent_calls: config.max_concurrent_calls,
        ..ConnectionSettings::default()
    };
    PimClient::new(&config.url, &credentials, settings).map_err(|e| logged(e.into()))
}

/// `config`'s credentials: as given, or read from its secret with `sdk`.
pub async fn credentials(config: &PimConfig, sdk: Option<&SdkConfig>) -> Result<Credentials, InitError> {
    match (&config.credentials, sdk) {
        (CredentialSource::Given(credentials), _) => Ok(credentials.clone()),
        (CredentialSource::Secret { arn }, Some(sdk)) => {
            let text = SecretsManagerSource::new(sdk, arn)
                .secret_string()
                .await
                .map_err(|e| logged(InitError::PimSecret(e.to_string())))?;
            Credentials::from_secret_document(&text).map_err(|e| logged(InitError::PimSecret(e.to_string())))
        }
        (CredentialSource::Secret { .. }, None) => Err(logged(InitError::PimSecret(
            "no AWS configuration to read it with".into(),
        ))),
    }
}

/// Turns enrichment on, and skips the connection's own events unless told not to.
pub async fn enrich<H, D, V>(
    processor: Processor<H, D, V>,
    config: &PimConfig,
    sdk: &SdkConfig,
) -> Result<Processor<H, D, V>, InitError>
where
    H: crate::ports::handler::EventHandler,
    D: crate::ports::queue::QueueSender,
    V: crate::ports::queue::VisibilityChanger,
{
    let client = client(config, Some(sdk)).await?;
    if let Err(error) = client.tokens().access_token(Instant::now() + WARM_UP).await {
        tracing::warn!(reason = %error, "no PIM token at init; the first batch will ask again");
    }
    tracing::info!(
        pim_url = config.url.as_str(),
        username = client.username(),
        max_concurrent_calls = config.max_concurrent_calls,
        skip_own_events = config.skip_own_events,
        user_uuid = config.user_uuid.as_deref(),
        "product and product model events are enriched from the PIM"
    );
    let own = own_authors(config, &client);
    Ok(processor
        .with_pim(Arc::new(client) as Arc<dyn PimReader>, config.fetch_budget)
        .with_own_authors(own))
}

/// The connection's own events, as each protocol names their author; none
/// when told not to skip them.
pub fn own_authors(config: &PimConfig, client: &PimClient) -> OwnAuthors {
    if !config.skip_own_events {
        return OwnAuthors::default();
    }
    OwnAuthors::connection(client.username(), client.client_id(), config.user_uuid.as_deref())
}

/// Reads each tenant's event from its own PIM (see [`crate::core::tenant`]),
/// and skips each tenant connection's own events; the tenants are read from
/// `config`'s secret once here, and again when an event names a tenant
/// added since. Answers the connections too, for the tenants' catch-ups.
pub async fn tenants<H, D, V>(
    processor: Processor<H, D, V>,
    config: &TenantsConfig,
    sdk: &SdkConfig,
) -> Result<(Processor<H, D, V>, TenantConnections), InitError>
where
    H: crate::ports::handler::EventHandler,
    D: crate::ports::queue::QueueSender,
    V: crate::ports::queue::VisibilityChanger,
{
    let source = SecretsManagerSource::new(sdk, &config.secret_arn);
    let text = source
        .secret_string()
        .await
        .map_err(|e| logged(InitError::PimSecret(e.to_string())))?;
    let pims = pim_connections(&text).map_err(|e| logged(InitError::PimSecret(e.to_string())))?;
    let reload: DocumentReload = Arc::new(move || {
        let source = source.clone();
        Box::pin(async move { source.secret_string().await.map_err(|e| e.to_string()) })
    });
    let settings = ConnectionSettings {
        max_concurrent_calls: config.max_concurrent_calls,
        ..ConnectionSettings::default()
    };
    let connections = TenantConnections::new(&pims, settings, Some(reload))
        .map_err(|e| logged(InitError::PimSecret(e.to_string())))?;
    tracing::info!(
        tenants = pims.len(),
        with_pim = pims.values().filter(|p| p.is_some()).count(),
        "each tenant's events are enriched from its own PIM"
    );
    let processor = processor
        .with_tenant_pims(Arc::new(connections.clone()), config.fetch_budget)
        .with_own_authors(tenant_own_authors(&pims));
    Ok((processor, connections))
}

/// Every tenant connection's own events, as each protocol names their
/// author.
pub fn tenant_own_authors(pims: &BTreeMap<String, Option<TenantPim>>) -> OwnAuthors {
    let mut own = OwnAuthors::default();
    for pim in pims.values().flatten() {
        own.extend(OwnAuthors::connection(
            &pim.credentials.username,
            &pim.credentials.client_id,
            pim.user_uuid.as_deref(),
        ));
    }
    own
}
