//! The receiver's signing secrets from AWS Secrets Manager.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::ConfigError;
use crate::receiver::secrets::{RouteSecrets, SecretLoader, SecretStore, parse_secret_json};

/// How long one read of the secret may take before it counts as failed.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: Client,
    secret_id: String,
}

impl SecretsManagerSource {
    pub fn new(sdk_config: &SdkConfig, secret_id: impl Into<String>) -> SecretsManagerSource {
        SecretsManagerSource {
            client: Client::new(sdk_config),
            secret_id: secret_id.into(),
        }
    }

    /// Reads and parses the secret. Errors name the secret and the cause, never
    /// its value.
    pub async fn fetch(&self) -> Result<RouteSecrets, String> {
        let call = self.client.get_secret_value().secret_id(&self.secret_id).send();
        let output = tokio::time::timeout(FETCH_TIMEOUT, call)
            .await
            .map_err(|_| String::from("Secrets Manager did not answer in time"))?
            .map_err(|error| DisplayErrorContext(&error).to_string())?;
        let text = output
            .secret_string
            .ok_or_else(|| String::from("the secret has no string value"))?;
        parse_secret_json(&text)
    }

    /// Loads the secrets once (init fails without them), then reloads them in the
    /// background every `every`.
    pub async fn into_store(self, every: Duration) -> Result<SecretStore, ConfigError> {
        let initial = self.fetch().await.map_err(ConfigError::Secret)?;
        if initial.is_empty() {
            return Err(ConfigError::Secret(
                "it lists no signing secrets for either route".into(),
            ));
        }
        let source = Arc::new(self);
        let loader: SecretLoader = Arc::new(move || {
            let source = Arc::clone(&source);
            Box::pin(async move { source.fetch().await })
        });
        Ok(SecretStore::reloading(initial, loader, every))
    }
}
