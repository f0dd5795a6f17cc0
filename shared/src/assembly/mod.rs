//! One assembler per Lambda: read the configuration once, build the real
//! adapters, and hand back what the edge runs. A missing or invalid value stops
//! the function at init with a message naming it.

pub mod processor;
pub mod receiver;

use crate::adapters::aws::secrets_manager::InitialLoadError;
use crate::config::{ConfigError, SECRETS_ARN};

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the secret {SECRETS_ARN} names could not be used: {0}")]
    Secrets(#[from] InitialLoadError),
}

/// Init errors are logged as JSON like everything else, then returned so the
/// runtime reports the failed init.
fn logged(error: InitError) -> InitError {
    tracing::error!(%error, "invalid configuration");
    error
}
