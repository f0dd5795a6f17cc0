//! Where the processor sends events: the Rust business logic built into it
//! (the default), an EventBridge bus, or an HTTPS endpoint.

use std::time::Duration;

use super::{ConfigError, number, read, required};
use crate::core::destination::bus::ENTRY_LIMIT_BYTES;
use crate::core::destination::standard_webhooks::SigningKey;

/// `DESTINATION`: where the processor sends events: `logic` (the default),
/// `eventbridge` or `https`.
pub const DESTINATION: &str = "DESTINATION";
/// `EVENT_BUS`: the EventBridge bus (name or ARN) of `DESTINATION=eventbridge`.
pub const EVENT_BUS: &str = "EVENT_BUS";
/// `EVENT_BUS_ENTRY_LIMIT`: the largest entry that bus takes, in bytes
/// (1 024 up to EventBridge's limit, the default).
pub const EVENT_BUS_ENTRY_LIMIT: &str = "EVENT_BUS_ENTRY_LIMIT";
/// `FORWARD_URL`: the http(s) endpoint of `DESTINATION=https`.
pub const FORWARD_URL: &str = "FORWARD_URL";
/// `FORWARD_SECRET`: the Standard Webhooks secret (`whsec_…`) forwarded
/// events are signed with.
pub const FORWARD_SECRET: &str = "FORWARD_SECRET";
/// `FORWARD_SECRET_ARN`: a Secrets Manager secret holding that secret,
/// when `FORWARD_SECRET` is not set.
pub const FORWARD_SECRET_ARN: &str = "FORWARD_SECRET_ARN";
/// `FORWARD_CONCURRENCY`: requests in flight at most per processor instance
/// (at least 1; default 4).
pub const FORWARD_CONCURRENCY: &str = "FORWARD_CONCURRENCY";
/// `FORWARD_TIMEOUT_SECS`: the timeout of one forwarding request, in seconds
/// (1 to 60; default 10).
pub const FORWARD_TIMEOUT_SECS: &str = "FORWARD_TIMEOUT_SECS";

const DEFAULT_FORWARD_CONCURRENCY: usize = 4;
const DEFAULT_FORWARD_TIMEOUT_SECS: u64 = 10;

/// Where the processor sends events (`DESTINATION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationConfig {
    /// The business logic compiled into the processor.
    Logic,
    /// Publish to an EventBridge bus.
    EventBridge {
        /// A bus name or ARN.
        bus: String,
        /// The largest entry the bus takes.
        entry_limit: usize,
    },
    /// Forward to an HTTPS endpoint.
    Https(ForwardConfig),
}

/// The HTTPS forwarder's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardConfig {
    /// The endpoint's http(s) URL.
    pub url: String,
    /// The signing secret.
    pub secret: ForwardSecret,
    /// Requests in flight at most, per processor instance.
    pub concurrency: usize,
    /// The timeout of one request.
    pub timeout: Duration,
}

/// The signing secret, given or named.
#[derive(Clone, PartialEq, Eq)]
pub enum ForwardSecret {
    /// Checked at init: a valid Standard Webhooks secret.
    Value(String),
    /// A Secrets Manager secret whose string is the secret.
    Arn(String),
}

impl std::fmt::Debug for ForwardSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardSecret::Value(_) => f.write_str("Value(…)"),
            ForwardSecret::Arn(arn) => f.debug_tuple("Arn").field(arn).finish(),
        }
    }
}

impl DestinationConfig {
    /// Reads the `DESTINATION` variables through `lookup` (blank counts as
    /// unset).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<DestinationConfig, ConfigError> {
        match read(lookup, DESTINATION).as_deref() {
            None | Some("logic") => Ok(DestinationConfig::Logic),
            Some("eventbridge") => Ok(DestinationConfig::EventBridge {
                bus: required(
                    lookup,
                    EVENT_BUS,
                    "the EventBridge bus (name or ARN) to publish to",
                )?,
                entry_limit: number(
                    lookup,
                    EVENT_BUS_ENTRY_LIMIT,
                    ENTRY_LIMIT_BYTES,
                    "a number of bytes",
                )?
                .clamp(1_024, ENTRY_LIMIT_BYTES),
            }),
            Some("https") => Ok(DestinationConfig::Https(forward(lookup)?)),
            Some(other) => Err(ConfigError::Invalid {
                name: DESTINATION,
                reason: format!("{other:?} is not one of logic, eventbridge, https"),
            }),
        }
    }
}

fn forward(lookup: &impl Fn(&str) -> Option<String>) -> Result<ForwardConfig, ConfigError> {
    let url = required(lookup, FORWARD_URL, "the HTTPS endpoint events are forwarded to")?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name: FORWARD_URL,
            reason: "must start with https:// (or http:// for a local endpoint)".into(),
        });
    }
    let secret = match (read(lookup, FORWARD_SECRET), read(lookup, FORWARD_SECRET_ARN)) {
        (Some(value), _) => {
            SigningKey::parse(&value).map_err(|error| ConfigError::Invalid {
                name: FORWARD_SECRET,
                reason: error.to_string(),
            })?;
            ForwardSecret::Value(value)
        }
        (None, Some(arn)) => ForwardSecret::Arn(arn),
        (None, None) => {
            return Err(ConfigError::Missing {
                name: FORWARD_SECRET_ARN,
                purpose: "the secret forwarded events are signed with (or FORWARD_SECRET, its value)",
            });
        }
    };
    let concurrency = number(
        lookup,
        FORWARD_CONCURRENCY,
        DEFAULT_FORWARD_CONCURRENCY,
        "a whole number",
    )?;
    if concurrency == 0 {
        return Err(ConfigError::Invalid {
            name: FORWARD_CONCURRENCY,
            reason: "must be at least 1".into(),
        });
    }
    let timeout = number(
        lookup,
        FORWARD_TIMEOUT_SECS,
        DEFAULT_FORWARD_TIMEOUT_SECS,
        "a whole number of seconds",
    )?;
    if !(1..=60).contains(&timeout) {
        return Err(ConfigError::Invalid {
            name: FORWARD_TIMEOUT_SECS,
            reason: "must be between 1 and 60 seconds".into(),
        });
    }
    Ok(ForwardConfig {
        url,
        secret,
        concurrency,
        timeout: Duration::from_secs(timeout),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<DestinationConfig, ConfigError> {
        DestinationConfig::from_lookup(&|name: &str| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn without_a_destination_the_built_in_logic_runs() {
        // GIVEN no DESTINATION
        // WHEN the configuration is read
        // THEN the Rust logic is the destination
        assert_eq!(load(&[]), Ok(DestinationConfig::Logic));
    }

    #[test]
    fn an_eventbridge_destination_needs_its_bus() {
        // GIVEN DESTINATION=eventbridge without EVENT_BUS
        // WHEN the configuration is read
        let read = load(&[(DESTINATION, "eventbridge")]);
        // THEN init stops naming the variable
        assert!(
            matches!(read, Err(ConfigError::Missing { name: EVENT_BUS, .. })),
            "{read:?}"
        );
    }

    #[test]
    fn an_https_destination_reads_its_url_secret_and_limits() {
        // GIVEN an endpoint, its secret and a concurrency of 2
        let read = load(&[
            (DESTINATION, "https"),
            (FORWARD_URL, "https://app.example.com/akeneo"),
            (FORWARD_SECRET, SECRET),
            (FORWARD_CONCURRENCY, "2"),
        ]);
        // WHEN the configuration is read
        let Ok(DestinationConfig::Https(forward)) = read else {
            panic!("{read:?}")
        };
        // THEN all are kept, the timeout defaulting to 10 s
        assert_eq!(forward.url, "https://app.example.com/akeneo");
        assert_eq!(forward.concurrency, 2);
        assert_eq!(forward.timeout, Duration::from_secs(10));
        assert_eq!(format!("{:?}", forward.secret), "Value(…)");
    }

    #[test]
    fn a_malformed_forwarding_secret_stops_init_without_showing_it() {
        // GIVEN a secret that is not base64
        let read = load(&[
            (DESTINATION, "https"),
            (FORWARD_URL, "https://app.example.com/akeneo"),
            (FORWARD_SECRET, "whsec_not base64!"),
        ]);
        // WHEN the configuration is read
        // THEN it is refused, naming the variable, not the value
        let message = read.expect_err("refused").to_string();
        assert!(message.starts_with("FORWARD_SECRET is invalid"), "{message}");
        assert!(!message.contains("not base64!"), "{message}");
    }

    #[test]
    fn an_unknown_destination_is_refused() {
        // GIVEN DESTINATION=kafka
        // WHEN the configuration is read
        // THEN init stops saying what is allowed
        let message = load(&[(DESTINATION, "kafka")]).expect_err("refused").to_string();
        assert!(message.contains("logic, eventbridge, https"), "{message}");
    }
}
