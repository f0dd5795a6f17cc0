//! One assembler per Lambda: read the configuration once, build the real
//! adapters, and hand back what the edge runs. A missing or invalid value stops
//! the function at init with a message naming it.

pub mod destination;
#[cfg(feature = "akeneo")]
#[cfg_attr(docsrs, doc(cfg(feature = "akeneo")))]
pub mod pim;
pub mod processor;
pub mod receiver;

use crate::adapters::aws::secrets_manager::InitialLoadError;
use crate::config::{ConfigError, PIM_SECRET_ARN, PIM_URL, SECRETS_ARN};

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The signing secrets' secret could not be read at init.
    #[error("the secret {SECRETS_ARN} names could not be used: {0}")]
    Secrets(#[from] InitialLoadError),
    /// Never carries a credential.
    #[error("the PIM connection secret {PIM_SECRET_ARN} names could not be used: {0}")]
    PimSecret(String),
    /// The PIM client could not be built (an invalid URL, the TLS setup).
    #[cfg(feature = "akeneo")]
    #[cfg_attr(docsrs, doc(cfg(feature = "akeneo")))]
    #[error("the PIM client could not be built: {0}")]
    Pim(#[from] crate::adapters::akeneo::PimError),
    /// Never carries the secret.
    #[error("the forwarding secret FORWARD_SECRET_ARN names could not be used: {0}")]
    ForwardSecret(String),
    /// The HTTPS forwarder could not be built (an invalid URL, the TLS setup).
    #[error("the HTTPS forwarder could not be built: {0}")]
    Forwarder(String),
    /// `PIM_URL` is set, but the `akeneo` feature is off.
    #[error("{PIM_URL} is set but this build has no PIM client (the shared crate's `akeneo` feature is off)")]
    PimUnsupported,
}

/// Init errors are logged as JSON like everything else, then returned so the
/// runtime reports the failed init.
fn logged(error: InitError) -> InitError {
    tracing::error!(%error, "invalid configuration");
    error
}
