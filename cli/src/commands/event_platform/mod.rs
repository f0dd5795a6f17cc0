//! The Event Platform commands: `subscribe`, `subscriptions`, `logs`,
//! `rotate-secret` and `doctor`. What they share: the PIM connection and the
//! management API client, the deployment (its Request URL and its secret),
//! and the check that the receiver accepts a secret.

pub mod doctor;
pub mod logs;
pub mod probe;
pub mod rotate;
pub mod subscribe;
pub mod subscriptions;

use std::time::Duration;

use crate::deployment::{
    EVENT_PLATFORM_REQUEST_URL, EVENTS_API_REQUEST_URL, PROCESSOR_LOG_GROUP, SIGNING_SECRETS_ARN,
    StackOutputs, TENANT_PIMS_SECRET_ARN_OUTPUT, TENANTS_SECRET_ARN_OUTPUT,
};
use clap::Args;
use shared::adapters::akeneo::event_platform::DEFAULT_BASE_URL;
use shared::adapters::akeneo::{ConnectionSettings, EventPlatformClient};
use shared::adapters::aws::sdk_config;
use shared::adapters::aws::secrets_manager::SecretsManagerSource;
use shared::config::{PIM_SECRET_ARN, PIM_USER_UUID, PimConfig};
use shared::core::receiver::secrets::SecretDocument;
use shared::core::subscription::DEFAULT_SUBSCRIBER_NAME;
use shared::core::subscription::model::{Subscriber, Subscription};
use shared::core::subscription::plan::find_by_url;
use shared::core::tenant::{TenantPim, is_valid_name, pim_connections, route_path};
use tokio::time::Instant;

use super::pim_args::PimConnectionArgs;
use crate::error::CliError;

/// How long one management call may take, retries included.
const CALL_BUDGET: Duration = Duration::from_secs(30);

pub fn deadline() -> Instant {
    Instant::now() + CALL_BUDGET
}

/// The PIM connection whose token the management API takes, and the API.
/// Global, as all the connection flags: users type them after a nested
/// subcommand (`subscriptions show --pim-url …`) as often as before it.
#[derive(Args, Clone)]
pub struct PimArgs {
    #[command(flatten)]
    connection: PimConnectionArgs,
    /// Or the stack's PIM connection secret (its credentials; the URL is still --pim-url).
    #[arg(long, env = "PIM_SECRET_ARN", global = true)]
    pim_secret_arn: Option<String>,
    /// The Event Platform management API.
    #[arg(long, env = "EVENT_PLATFORM_API_URL", default_value = DEFAULT_BASE_URL, global = true)]
    management_url: String,
    /// The subscriber the relay's subscription belongs to.
    #[arg(long, default_value = DEFAULT_SUBSCRIBER_NAME, global = true)]
    subscriber_name: String,
}

impl PimArgs {
    pub async fn client(&self) -> Result<EventPlatformClient, CliError> {
        let config = PimConfig::from_lookup(&|name: &str| match name {
            PIM_SECRET_ARN => self.pim_secret_arn.clone(),
            other => self.connection.lookup(other).flatten(),
        })?
        .ok_or(CliError::MissingFlag(
            "the Event Platform commands",
            "--pim-url (or PIM_URL) and the connection's credentials",
        ))?;
        let sdk = match &self.pim_secret_arn {
            Some(_) => Some(sdk_config().await),
            None => None,
        };
        let credentials = shared::assembly::pim::credentials(&config, sdk.as_ref()).await?;
        Ok(EventPlatformClient::new(
            &self.management_url,
            &config.url,
            &credentials,
            ConnectionSettings::default(),
        )?)
    }

    /// The connection's user UUID, when given (`client` has refused a
    /// malformed one).
    pub fn user_uuid(&self) -> Option<String> {
        self.connection
            .lookup(PIM_USER_UUID)
            .flatten()
            .and_then(|text| shared::core::processor::own_events::user_uuid(&text))
    }

    pub fn subscriber_name(&self) -> &str {
        &self.subscriber_name
    }

    /// With `--tenant`, the tenant's PIM connection for the flags not given.
    pub async fn for_tenant(&self, stack: &Stack) -> Result<PimArgs, CliError> {
        match stack.tenant_pim().await? {
            Some(pim) if self.pim_secret_arn.is_none() => Ok(PimArgs {
                connection: self.connection.or_tenant(&pim),
                ..self.clone()
            }),
            _ => Ok(self.clone()),
        }
    }
}

/// The deployment: where Akeneo delivers, and where the receiver reads its
/// secrets: from the stack's outputs, or given one by one (which wins). Global
/// flags, like [`PimArgs`]'s.
#[derive(Args, Clone)]
pub struct StackArgs {
    /// The deployed stack's name (its outputs give the rest).
    #[arg(long, env = "AKENEO_RELAY_STACK", global = true)]
    stack: Option<String>,
    /// The Event Platform Request URL (the stack's output EventPlatformRequestUrl).
    #[arg(long, env = "EVENT_PLATFORM_REQUEST_URL", global = true)]
    request_url: Option<String>,
    /// The signing secrets' Secrets Manager secret (the stack's output SigningSecretsArn).
    #[arg(long, env = "SIGNING_SECRETS_ARN", global = true)]
    secrets_arn: Option<String>,
    /// The tenants' routes secret (the stack's output TenantsSecretArn).
    #[arg(long, env = "TENANTS_SECRET_ARN", global = true)]
    tenants_secret_arn: Option<String>,
    /// The tenants' PIM connections secret (the stack's output TenantPimsSecretArn).
    #[arg(long, env = "TENANT_PIMS_SECRET_ARN", global = true)]
    tenant_pims_secret_arn: Option<String>,
    /// Act for this tenant of the deployment (`akeneo-relay tenants`): its
    /// Request URLs (/t/<tenant>/…) and its entry of the secret.
    #[arg(long, global = true, value_parser = tenant_name)]
    tenant: Option<String>,
}

/// A tenant name as the receiver routes it.
pub fn tenant_name(text: &str) -> Result<String, String> {
    if is_valid_name(text) {
        Ok(text.to_owned())
    } else {
        Err(String::from(
            "a tenant name is lower-case letters, digits and '-', starting with a letter or a digit, at most 40",
        ))
    }
}

impl StackArgs {
    pub async fn resolve(&self) -> Result<Stack, CliError> {
        let mut stack = Stack {
            request_url: self.request_url.clone(),
            secrets_arn: self.secrets_arn.clone(),
            events_api_url: None,
            processor_log_group: None,
            tenant: None,
            tenants_secret_arn: self.tenants_secret_arn.clone(),
            tenant_pims_secret_arn: self.tenant_pims_secret_arn.clone(),
        };
        if let Some(name) = &self.stack {
            let outputs = StackOutputs::read(&sdk_config().await, name).await?;
            let output = |key| outputs.get(key).map(str::to_owned);
            stack.request_url = stack.request_url.or(Some(output(EVENT_PLATFORM_REQUEST_URL)?));
            stack.secrets_arn = stack.secrets_arn.or(Some(output(SIGNING_SECRETS_ARN)?));
            stack.events_api_url = output(EVENTS_API_REQUEST_URL).ok();
            stack.processor_log_group = output(PROCESSOR_LOG_GROUP).ok();
            stack.tenants_secret_arn = stack
                .tenants_secret_arn
                .or(output(TENANTS_SECRET_ARN_OUTPUT).ok());
            stack.tenant_pims_secret_arn = stack
                .tenant_pims_secret_arn
                .or(output(TENANT_PIMS_SECRET_ARN_OUTPUT).ok());
        }
        if let Some(tenant) = &self.tenant {
            // The stack's outputs are the top-level routes; a tenant's sit under /t/<tenant>.
            let of_tenant = |url: String, route: &str| {
                let base = url.trim_end_matches('/');
                let base = base.strip_suffix(route).unwrap_or(base);
                format!("{base}{}", route_path(Some(tenant), route))
            };
            stack.request_url = stack.request_url.map(|url| of_tenant(url, "/event-platform"));
            stack.events_api_url = stack.events_api_url.map(|url| of_tenant(url, "/events-api"));
            stack.tenant = Some(tenant.clone());
        }
        Ok(stack)
    }
}

/// A deployment, resolved.
#[derive(Clone)]
pub struct Stack {
    request_url: Option<String>,
    secrets_arn: Option<String>,
    pub events_api_url: Option<String>,
    pub processor_log_group: Option<String>,
    /// `--tenant`: the secret is that tenant's entry.
    pub tenant: Option<String>,
    /// Where the tenants are: their own secret when the stack has one, else
    /// the signing secrets' document.
    tenants_secret_arn: Option<String>,
    /// Where the tenants' PIM connections are, when apart from their routes.
    tenant_pims_secret_arn: Option<String>,
}

impl Stack {
    pub fn request_url(&self) -> Result<&str, CliError> {
        self.request_url.as_deref().ok_or(CliError::MissingFlag(
            "this command",
            "--stack, or --request-url (the stack's EventPlatformRequestUrl)",
        ))
    }

    pub fn has_secrets_arn(&self) -> bool {
        self.secrets_arn.is_some()
    }

    pub async fn secret(&self) -> Result<StackSecret, CliError> {
        if self.tenant.is_some() {
            return self.tenants_secret().await;
        }
        self.signing_secret().await
    }

    /// With `--tenant`, its PIM connection from the tenants document, when
    /// it has one.
    pub async fn tenant_pim(&self) -> Result<Option<TenantPim>, CliError> {
        let Some(tenant) = &self.tenant else {
            return Ok(None);
        };
        let secret = match self.tenant_pims_secret().await {
            Some(secret) => secret,
            None if self.tenants_secret_arn.is_some() || self.secrets_arn.is_some() => {
                self.tenants_secret().await?
            }
            None => return Ok(None),
        };
        let text = secret.read_document().await?.to_text();
        let pims = pim_connections(&text).map_err(|e| secret.error(e))?;
        Ok(pims.get(tenant).cloned().flatten())
    }

    /// The tenants' PIM connections' own secret, when the stack has one.
    pub async fn tenant_pims_secret(&self) -> Option<StackSecret> {
        let arn = self.tenant_pims_secret_arn.as_ref()?;
        Some(StackSecret {
            source: SecretsManagerSource::new(&sdk_config().await, arn),
            arn: arn.clone(),
            tenant: None,
        })
    }

    /// The document holding the tenants (with `--tenant`, scoped to it).
    pub async fn tenants_secret(&self) -> Result<StackSecret, CliError> {
        match &self.tenants_secret_arn {
            Some(arn) => Ok(StackSecret {
                source: SecretsManagerSource::new(&sdk_config().await, arn),
                arn: arn.clone(),
                tenant: self.tenant.clone(),
            }),
            None => self.signing_secret().await,
        }
    }

    async fn signing_secret(&self) -> Result<StackSecret, CliError> {
        let arn = self.secrets_arn.clone().ok_or(CliError::MissingFlag(
            "this command",
            "--stack, or --secrets-arn (the stack's SigningSecretsArn)",
        ))?;
        Ok(StackSecret {
            source: SecretsManagerSource::new(&sdk_config().await, &arn),
            arn,
            tenant: self.tenant.clone(),
        })
    }
}

/// The stack's signing secrets document in Secrets Manager; with a tenant,
/// that tenant's entry of it.
pub struct StackSecret {
    source: SecretsManagerSource,
    arn: String,
    tenant: Option<String>,
}

impl StackSecret {
    /// The whole document, whatever the tenant.
    pub async fn read_document(&self) -> Result<SecretDocument, CliError> {
        let text = self.source.secret_string().await.map_err(|e| self.error(e))?;
        SecretDocument::parse(&text).map_err(|e| self.error(e))
    }

    /// The document, or the tenant's entry of it.
    pub async fn read(&self) -> Result<SecretDocument, CliError> {
        let document = self.read_document().await?;
        match &self.tenant {
            None => Ok(document),
            Some(tenant) => document.tenant(tenant).ok_or_else(|| {
                self.error(format!(
                    "no tenant {tenant:?}; `akeneo-relay tenants add {tenant}` adds it"
                ))
            }),
        }
    }

    /// Writes the document, or the tenant's entry into the document as it
    /// is now (the other tenants' entries as they are).
    pub async fn write(&self, document: &SecretDocument) -> Result<(), CliError> {
        let whole = match &self.tenant {
            None => document.clone(),
            Some(tenant) => {
                let mut whole = self.read_document().await?;
                whole.set_tenant(tenant, document.clone());
                whole
            }
        };
        self.write_document(&whole).await
    }

    /// Writes the whole document.
    pub async fn write_document(&self, document: &SecretDocument) -> Result<(), CliError> {
        self.source
            .put_secret_string(&document.to_text())
            .await
            .map_err(|e| self.error(e))
    }

    /// The secret's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    fn error(&self, error: impl std::fmt::Display) -> CliError {
        CliError::Secrets(self.arn.clone(), error.to_string())
    }
}

/// The subscriber named `name`, if there is one.
pub async fn find_subscriber(
    client: &EventPlatformClient,
    name: &str,
) -> Result<Option<Subscriber>, CliError> {
    let subscribers = client.subscribers(deadline()).await?;
    Ok(subscribers.into_iter().find(|s| s.name == name))
}

/// The subscriber named `name`; an error saying to run `subscribe` when none.
pub async fn subscriber(client: &EventPlatformClient, name: &str) -> Result<Subscriber, CliError> {
    find_subscriber(client, name)
        .await?
        .ok_or_else(|| CliError::NoSubscriber(name.to_owned()))
}

/// The subscription with `id`, or the one that delivers to the stack's Request URL.
pub async fn subscription(
    client: &EventPlatformClient,
    subscriber: &Subscriber,
    id: Option<&str>,
    stack: &Stack,
) -> Result<Subscription, CliError> {
    if let Some(id) = id {
        return Ok(client.subscription(&subscriber.id, id, deadline()).await?);
    }
    let url = stack.request_url()?;
    let all = client.subscriptions(&subscriber.id, deadline()).await?;
    find_by_url(&all, url)
        .cloned()
        .ok_or_else(|| CliError::NoSubscription(url.to_owned()))
}

/// Prints `value` as JSON on one line.
pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("akeneo-relay: cannot print the answer as JSON: {error}"),
    }
}
