//! Configuration, read once at init from the environment. Each loader takes a
//! lookup function so tests need not touch the process environment.

mod destination;
mod payloads;
mod pim;
mod processor;
mod receiver;
pub mod stack_outputs;
mod tenants;

pub use destination::*;
pub use payloads::*;
pub use pim::*;
pub use processor::*;
pub use receiver::*;
pub use tenants::*;

/// Why the configuration could not be read; names the variable, never a
/// secret's value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{name} is not set: {purpose}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What it is for.
        purpose: &'static str,
    },
    /// A variable's value cannot be used.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// The receiver has no signing secret for either route.
    #[error(
        "neither {EVENTS_API_SECRETS} nor {EVENT_PLATFORM_SECRETS} (nor {SECRETS_ARN}) is set: \
         give at least one route its comma-separated secrets"
    )]
    NoSecrets,
}

/// Reads one variable; blank counts as unset.
fn read(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    purpose: &'static str,
) -> Result<String, ConfigError> {
    read(lookup, name).ok_or(ConfigError::Missing { name, purpose })
}

fn number<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    what: &str,
) -> Result<T, ConfigError> {
    match read(lookup, name) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("{text:?} is not {what}"),
        }),
    }
}
