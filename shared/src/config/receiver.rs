use super::{ConfigError, LargeEventsConfig, number, read, required};
use crate::core::signature::Secrets;

/// `QUEUE_URL`: the SQS queue the receiver sends to and the processor
/// consumes.
pub const QUEUE_URL: &str = "QUEUE_URL";
/// `EVENTS_API_SECRETS`: the Events API route's comma-separated secrets.
pub const EVENTS_API_SECRETS: &str = "EVENTS_API_SECRETS";
/// `EVENT_PLATFORM_SECRETS`: the Event Platform route's comma-separated
/// secrets.
pub const EVENT_PLATFORM_SECRETS: &str = "EVENT_PLATFORM_SECRETS";
/// `EVENT_PLATFORM_NOTIFICATION_SECRET`: the notification webhook's
/// secrets; unset, that route is off.
pub const NOTIFICATION_SECRET: &str = "EVENT_PLATFORM_NOTIFICATION_SECRET";
/// `EVENTS_API_TOLERANCE_SECS`: how far an Events API request's timestamp
/// may be from now, in seconds.
pub const EVENTS_API_TOLERANCE_SECS: &str = "EVENTS_API_TOLERANCE_SECS";
/// `SECRETS_ARN`: a Secrets Manager secret holding the signing secrets,
/// instead of the variables.
pub const SECRETS_ARN: &str = "SECRETS_ARN";
pub use super::tenants::TENANTS_SECRET_ARN;
/// `SECRETS_REFRESH_SECS`: how often that secret is read again, in seconds.
pub const SECRETS_REFRESH_SECS: &str = "SECRETS_REFRESH_SECS";

/// The default of `SECRETS_REFRESH_SECS`.
pub const DEFAULT_SECRETS_REFRESH_SECS: u64 = 300;

/// The default of `EVENTS_API_TOLERANCE_SECS`.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// The receiver Lambda's configuration.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The queue events are sent to.
    pub queue_url: String,
    /// An empty list disables the route.
    pub events_api_secrets: Secrets,
    /// The Event Platform route's secrets; an empty list disables the route.
    pub event_platform_secrets: Secrets,
    /// The Event Platform notification webhook's secret; empty: no route.
    pub notification_secrets: Secrets,
    /// How far an Events API request's timestamp may be from now, in seconds.
    pub events_api_tolerance_secs: u64,
    /// A Secrets Manager secret holding both lists; when set, it replaces the
    /// two variables and is reloaded every `secrets_refresh`.
    pub secrets_arn: Option<String>,
    /// How often `secrets_arn` is read again.
    pub secrets_refresh: std::time::Duration,
    /// A Secrets Manager secret holding the tenants' routes, read beside the
    /// signing secrets and reloaded with them.
    pub tenants_secret_arn: Option<String>,
    /// Where events too large for one queue message go.
    pub large_events: LargeEventsConfig,
}

impl ReceiverConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<ReceiverConfig, ConfigError> {
        ReceiverConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// `lookup` answers an environment variable's value; blank counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ReceiverConfig, ConfigError> {
        let queue_url = required(
            &lookup,
            QUEUE_URL,
            "the URL of the SQS queue events are forwarded to",
        )?;
        let secrets = |name| {
            read(&lookup, name)
                .map(|list| Secrets::parse_list(&list))
                .unwrap_or_default()
        };
        let events_api_secrets = secrets(EVENTS_API_SECRETS);
        let event_platform_secrets = secrets(EVENT_PLATFORM_SECRETS);
        let notification_secrets = secrets(NOTIFICATION_SECRET);
        let secrets_arn = read(&lookup, SECRETS_ARN);
        let tenants_secret_arn = read(&lookup, TENANTS_SECRET_ARN);
        if secrets_arn.is_none()
            && tenants_secret_arn.is_none()
            && events_api_secrets.is_empty()
            && event_platform_secrets.is_empty()
        {
            return Err(ConfigError::NoSecrets);
        }
        let refresh_secs = number(
            &lookup,
            SECRETS_REFRESH_SECS,
            DEFAULT_SECRETS_REFRESH_SECS,
            "a whole number of seconds",
        )?;
        let events_api_tolerance_secs = number(
            &lookup,
            EVENTS_API_TOLERANCE_SECS,
            DEFAULT_TOLERANCE_SECS,
            "a whole number of seconds",
        )?;
        let large_events = LargeEventsConfig::from_lookup(&lookup)?;
        Ok(ReceiverConfig {
            queue_url,
            events_api_secrets,
            event_platform_secrets,
            notification_secrets,
            events_api_tolerance_secs,
            secrets_arn,
            secrets_refresh: std::time::Duration::from_secs(refresh_secs.max(1)),
            tenants_secret_arn,
            large_events,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<ReceiverConfig, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ReceiverConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_queue_secrets_and_tolerance_are_read() {
        // GIVEN a queue, two Events API secrets and a tolerance
        // WHEN the configuration is read
        let config = load(&[
            (QUEUE_URL, "http://localhost/q"),
            (EVENTS_API_SECRETS, "a, b,,"),
            (EVENTS_API_TOLERANCE_SECS, "60"),
        ])
        .expect("valid");
        // THEN all of it is there, and the other route has no secrets
        assert_eq!(config.queue_url, "http://localhost/q");
        assert_eq!(config.events_api_secrets.len(), 2);
        assert!(config.event_platform_secrets.is_empty());
        assert_eq!(config.events_api_tolerance_secs, 60);
    }

    #[test]
    fn the_tolerance_defaults_to_five_minutes() {
        // GIVEN no tolerance
        // WHEN the configuration is read
        let config = load(&[(QUEUE_URL, "q"), (EVENT_PLATFORM_SECRETS, "x")]).expect("valid");
        // THEN it is 300 s
        assert_eq!(config.events_api_tolerance_secs, 300);
    }

    #[test]
    fn a_blank_queue_url_is_named_as_not_set() {
        // GIVEN a queue URL of spaces
        // WHEN the configuration is read
        let error = load(&[(EVENTS_API_SECRETS, "a"), (QUEUE_URL, "  ")]).expect_err("refused");
        // THEN the error names the variable
        assert!(error.to_string().starts_with("QUEUE_URL is not set"), "{error}");
    }

    #[test]
    fn no_secret_for_either_route_names_both_variables() {
        // GIVEN a secret list of blanks and no other secret
        // WHEN the configuration is read
        let error = load(&[(QUEUE_URL, "q"), (EVENTS_API_SECRETS, " , ")]).expect_err("refused");
        // THEN the error names both variables
        assert_eq!(error, ConfigError::NoSecrets);
        assert!(error.to_string().contains("EVENTS_API_SECRETS"));
        assert!(error.to_string().contains("EVENT_PLATFORM_SECRETS"));
    }

    #[test]
    fn a_tolerance_that_is_not_a_number_is_named_as_invalid() {
        // GIVEN a tolerance of "5m"
        // WHEN the configuration is read
        let error = load(&[
            (QUEUE_URL, "q"),
            (EVENTS_API_SECRETS, "a"),
            (EVENTS_API_TOLERANCE_SECS, "5m"),
        ])
        .expect_err("refused");
        // THEN the error names the variable
        assert!(
            error
                .to_string()
                .starts_with("EVENTS_API_TOLERANCE_SECS is invalid"),
            "{error}"
        );
    }

    #[test]
    fn a_secrets_arn_alone_is_enough() {
        // GIVEN only a queue and a Secrets Manager secret
        // WHEN the configuration is read
        let config = load(&[(QUEUE_URL, "q"), (SECRETS_ARN, "arn:aws:secretsmanager:x")]).expect("valid");
        // THEN the secret is named and reloaded every five minutes
        assert_eq!(config.secrets_arn.as_deref(), Some("arn:aws:secretsmanager:x"));
        assert_eq!(config.secrets_refresh, std::time::Duration::from_secs(300));
    }
}
