//! The receiver's signing secrets from AWS Secrets Manager.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use futures::future::BoxFuture;

use crate::core::receiver::SecretStore;
use crate::core::receiver::secrets::{RouteSecrets, parse_secret_document};
use crate::ports::secrets::{SecretSource, SecretSourceError};

/// How long one read of the secret may take before it counts as failed.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// One Secrets Manager secret: the receiver's signing secrets (a
/// [`SecretSource`]), or any other secret string.
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: Client,
    secret_id: String,
}

/// The secret could not be read at init.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitialLoadError {
    /// The secret could not be read or parsed.
    #[error(transparent)]
    Load(#[from] SecretSourceError),
}

impl SecretsManagerSource {
    /// The secret `secret_id` (a name or an ARN), with a client from the shared
    /// SDK configuration.
    pub fn new(sdk_config: &SdkConfig, secret_id: impl Into<String>) -> SecretsManagerSource {
        SecretsManagerSource {
            client: Client::new(sdk_config),
            secret_id: secret_id.into(),
        }
    }

    /// Reads and parses the secret. Errors name the cause, never the value.
    pub async fn fetch(&self) -> Result<RouteSecrets, SecretSourceError> {
        Ok(parse_secret_document(&self.secret_string().await?)?)
    }

    /// The secret's string value, for callers with their own document (the
    /// PIM connection's credentials). Errors name the cause, never the value.
    pub async fn secret_string(&self) -> Result<String, SecretSourceError> {
        let call = self.client.get_secret_value().secret_id(&self.secret_id).send();
        let output = tokio::time::timeout(FETCH_TIMEOUT, call)
            .await
            .map_err(|_| SecretSourceError::Timeout(FETCH_TIMEOUT))?
            .map_err(|error| SecretSourceError::Unavailable(DisplayErrorContext(&error).to_string()))?;
        output.secret_string.ok_or(SecretSourceError::NoStringValue)
    }

    /// Replaces the secret's value with `text` (a new version, made current).
    /// Errors name the cause, never the value.
    pub async fn put_secret_string(&self, text: &str) -> Result<(), SecretSourceError> {
        let call = self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(text)
            .send();
        tokio::time::timeout(FETCH_TIMEOUT, call)
            .await
            .map_err(|_| SecretSourceError::Timeout(FETCH_TIMEOUT))?
            .map_err(|error| SecretSourceError::Unavailable(DisplayErrorContext(&error).to_string()))?;
        Ok(())
    }

    /// Loads the secrets once (init fails when the secret cannot be read), then
    /// reloads them in the background every `every`.
    ///
    /// A document listing no secret at all still starts the receiver: it is
    /// what the template writes by default, and `subscribe` fills it in while
    /// the receiver runs (each route answers 404 `route_not_configured` until
    /// its secret is stored, and asks for an early reload).
    pub async fn into_store(self, every: Duration) -> Result<SecretStore, InitialLoadError> {
        let initial = self.fetch().await?;
        if initial.is_empty() {
            tracing::warn!(
                "the secret lists no signing secrets yet; every route answers 404 until one is stored"
            );
        }
        Ok(SecretStore::reloading(initial, Arc::new(self), every))
    }
}

impl SecretSource for SecretsManagerSource {
    fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
        Box::pin(self.fetch())
    }
}
