//! Where the receiver's signing secrets come from when they can change while it
//! runs (Secrets Manager in AWS).

use futures::future::BoxFuture;

use crate::core::receiver::secrets::{RouteSecrets, SecretDocumentError};

/// Why the secrets could not be loaded; never carries a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretSourceError {
    /// The store did not answer in time (this long).
    #[error("the secret store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The store refused or failed the read (the SDK's error).
    #[error("the secret store refused or failed the read: {0}")]
    Unavailable(String),
    /// The secret has no string value (a binary secret).
    #[error("the secret has no string value")]
    NoStringValue,
    /// The secret is not the document the receiver reads.
    #[error(transparent)]
    Document(#[from] SecretDocumentError),
}

/// Loads both routes' secrets. Boxed so the reloading store can hold any source.
pub trait SecretSource: Send + Sync + 'static {
    /// Reads both routes' secrets (and the notification secret) now.
    fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>>;
}
