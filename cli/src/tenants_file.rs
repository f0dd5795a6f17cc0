//! A tenants file: the secret document's form (see
//! `shared::core::tenant`), kept on disk for local runs. `serve --tenants`
//! reads it at start and again as the Lambdas reread their secret, so a
//! tenant added with `akeneo-relay tenants add --file` is served without a
//! restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use shared::adapters::akeneo::tenants::DocumentReload;
use shared::core::receiver::RouteSecrets;
use shared::core::receiver::secrets::parse_secret_document;
use shared::ports::secrets::{SecretSource, SecretSourceError};

use crate::error::CliError;

/// The file's text.
pub fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::Tenants(path.display().to_string(), e.to_string()))
}

/// The tenants' routes of the file at `path`, beside the top level's own
/// (the flags'), which the file does not change.
pub struct FileTenants {
    path: PathBuf,
    top_level: RouteSecrets,
}

impl FileTenants {
    /// The tenants of `path` beside `top_level`'s routes.
    pub fn new(path: &Path, top_level: RouteSecrets) -> FileTenants {
        FileTenants {
            path: path.to_owned(),
            top_level,
        }
    }

    /// Both, now.
    pub fn read_now(&self) -> Result<RouteSecrets, CliError> {
        let text = read(&self.path)?;
        let tenants = parse_secret_document(&text)
            .map_err(|e| CliError::Tenants(self.path.display().to_string(), e.to_string()))?
            .tenants;
        Ok(RouteSecrets {
            tenants,
            ..self.top_level.clone()
        })
    }
}

impl SecretSource for FileTenants {
    fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
        Box::pin(async move {
            self.read_now()
                .map_err(|e| SecretSourceError::Unavailable(e.to_string()))
        })
    }
}

/// Reads the file again, for the tenants' PIM connections.
pub fn reload(path: &Path) -> DocumentReload {
    let path = path.to_owned();
    Arc::new(move || {
        let path = path.clone();
        Box::pin(async move { tokio::fs::read_to_string(&path).await.map_err(|e| e.to_string()) })
    })
}
