//! Where the tenants are (see [`crate::core::tenant`]): their routes'
//! signing secrets for the receiver, their PIM connections for the processor
//! (two secrets: the receiver, open to the internet, never holds a PIM
//! credential), and the limits each connection gets.

use std::time::Duration;

use super::pim::{fetch_budget, max_concurrent_calls};
use super::{ConfigError, read};

/// `TENANTS_SECRET_ARN` (receiver): the secret holding the tenants' routes
/// and their signing secrets; unset, the receiver has no tenant routes.
pub const TENANTS_SECRET_ARN: &str = "TENANTS_SECRET_ARN";
/// `TENANT_PIMS_SECRET_ARN` (processor): the secret holding each tenant's PIM
/// connection; unset, the processor has no tenants and a tenant's event is
/// retried until it is dead-lettered.
pub const TENANT_PIMS_SECRET_ARN: &str = "TENANT_PIMS_SECRET_ARN";

/// Where the processor reads its tenants' PIM connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantsConfig {
    /// The secret document holding them.
    pub secret_arn: String,
    /// Calls in flight at most per tenant's connection, per process
    /// (`PIM_MAX_CONCURRENT_CALLS`).
    pub max_concurrent_calls: usize,
    /// How long a batch's reads may take (`PIM_FETCH_BUDGET_SECS`).
    pub fetch_budget: Duration,
}

impl TenantsConfig {
    /// `None` when `TENANT_PIMS_SECRET_ARN` is unset.
    pub fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<TenantsConfig>, ConfigError> {
        let Some(secret_arn) = read(lookup, TENANT_PIMS_SECRET_ARN) else {
            return Ok(None);
        };
        Ok(Some(TenantsConfig {
            secret_arn,
            max_concurrent_calls: max_concurrent_calls(lookup)?,
            fetch_budget: fetch_budget(lookup)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PIM_MAX_CONCURRENT_CALLS;

    #[test]
    fn tenants_are_read_from_the_named_secret_with_the_connection_limits() {
        // GIVEN a tenants secret and two calls in flight per connection
        let lookup = |name: &str| match name {
            TENANT_PIMS_SECRET_ARN => Some("arn:aws:secretsmanager:x".to_owned()),
            PIM_MAX_CONCURRENT_CALLS => Some("2".to_owned()),
            _ => None,
        };
        // WHEN the configuration is read
        let config = TenantsConfig::from_lookup(&lookup)
            .expect("valid")
            .expect("tenants");
        // THEN each tenant's connection gets the limit, and the default budget
        assert_eq!(config.max_concurrent_calls, 2);
        assert_eq!(config.fetch_budget, Duration::from_secs(20));
    }

    #[test]
    fn without_the_secret_there_are_no_tenants() {
        // GIVEN no tenants secret
        // WHEN the configuration is read
        // THEN there are none
        assert_eq!(TenantsConfig::from_lookup(&|_: &str| None), Ok(None));
    }
}
