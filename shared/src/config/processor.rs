use std::time::Duration;

use super::{
    ConfigError, DestinationConfig, PimConfig, TenantsConfig, delete_payloads_when_done, ignored_authors,
    number, read, required,
};
use crate::core::processor::idempotency::DEFAULT_WINDOW;
use crate::core::processor::{DEFAULT_BACKOFF_CAP, DEFAULT_CONCURRENCY, Settings};

/// `DEAD_LETTER_QUEUE_URL`: where the processor sends rejected and
/// malformed messages.
pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
/// `PROCESSOR_CONCURRENCY`: messages of a batch run at the same time (at
/// least 1; default 10).
pub const PROCESSOR_CONCURRENCY: &str = "PROCESSOR_CONCURRENCY";
/// `BACKOFF_CAP_SECS`: the longest retry delay, in seconds (1 s up to
/// 12 hours, SQS's limit; default 15 minutes).
pub const BACKOFF_CAP_SECS: &str = "BACKOFF_CAP_SECS";
/// `IDEMPOTENCY_TABLE`: the DynamoDB table of handled events; unset turns
/// deduplication and the stale guard off.
pub const IDEMPOTENCY_TABLE: &str = "IDEMPOTENCY_TABLE";
/// `IDEMPOTENCY_WINDOW_DAYS`: how long handled events are remembered, in
/// days (1 to 366).
pub const IDEMPOTENCY_WINDOW_DAYS: &str = "IDEMPOTENCY_WINDOW_DAYS";

/// DynamoDB's TTL ignores expiry times more than five years in the past; a
/// year is plenty for any redrive.
const MAX_IDEMPOTENCY_WINDOW_DAYS: u64 = 366;

/// SQS refuses visibility timeouts over 12 hours.
const MAX_BACKOFF_CAP_SECS: u64 = 12 * 60 * 60;

/// The processor Lambda's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorConfig {
    /// The queue the batch comes from, for visibility changes.
    pub queue_url: String,
    /// Where rejected and malformed messages go at once.
    pub dead_letter_queue_url: String,
    /// Concurrency and backoff.
    pub settings: Settings,
    /// Where handled events are remembered; `None` turns deduplication and the
    /// stale guard off.
    pub idempotency: Option<IdempotencyConfig>,
    /// The PIM to read products from; `None`: no enrichment.
    pub pim: Option<PimConfig>,
    /// Authors whose events are skipped, besides the PIM connection's own.
    pub ignored_authors: Vec<String>,
    /// Delete a large event's object once its message is done.
    pub delete_payloads_when_done: bool,
    /// Where events go once every check has passed.
    pub destination: DestinationConfig,
    /// Where the catch-up's entities too large for a queue message go (the
    /// receiver's variables: `PAYLOAD_BUCKET`, ...).
    pub large_events: super::payloads::LargeEventsConfig,
    /// Each tenant's PIM connection, when the deployment has tenants.
    pub tenants: Option<TenantsConfig>,
}

/// The idempotency store's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyConfig {
    /// The DynamoDB table.
    pub table: String,
    /// How long a handled event (and an entity's last handled time) is kept.
    pub window: Duration,
}

impl ProcessorConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<ProcessorConfig, ConfigError> {
        ProcessorConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (blank counts as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ProcessorConfig, ConfigError> {
        let queue_url = required(
            &lookup,
            super::QUEUE_URL,
            "the URL of the SQS queue the processor consumes",
        )?;
        let dead_letter_queue_url = required(
            &lookup,
            DEAD_LETTER_QUEUE_URL,
            "the URL of the dead-letter queue for rejected events",
        )?;
        let concurrency = number(
            &lookup,
            PROCESSOR_CONCURRENCY,
            DEFAULT_CONCURRENCY,
            "a whole number",
        )?;
        if concurrency == 0 {
            let reason = "must be at least 1".to_owned();
            return Err(ConfigError::Invalid {
                name: PROCESSOR_CONCURRENCY,
                reason,
            });
        }
        let cap = number(
            &lookup,
            BACKOFF_CAP_SECS,
            DEFAULT_BACKOFF_CAP.as_secs(),
            "a whole number of seconds",
        )?;
        if cap == 0 || cap > MAX_BACKOFF_CAP_SECS {
            let reason = format!("must be between 1 and {MAX_BACKOFF_CAP_SECS} seconds (SQS's limit)");
            return Err(ConfigError::Invalid {
                name: BACKOFF_CAP_SECS,
                reason,
            });
        }
        let delete_payloads_when_done = delete_payloads_when_done(&lookup)?;
        Ok(ProcessorConfig {
            queue_url,
            dead_letter_queue_url,
            delete_payloads_when_done,
            settings: Settings {
                concurrency,
                backoff_cap: Duration::from_secs(cap),
            },
            idempotency: idempotency(&lookup)?,
            pim: PimConfig::from_lookup(&lookup)?,
            ignored_authors: ignored_authors(&lookup),
            destination: DestinationConfig::from_lookup(&lookup)?,
            large_events: super::payloads::LargeEventsConfig::from_lookup(&lookup)?,
            tenants: TenantsConfig::from_lookup(&lookup)?,
        })
    }
}

fn idempotency(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<IdempotencyConfig>, ConfigError> {
    let Some(table) = read(lookup, IDEMPOTENCY_TABLE) else {
        return Ok(None);
    };
    let days = number(
        lookup,
        IDEMPOTENCY_WINDOW_DAYS,
        DEFAULT_WINDOW.as_secs() / 86_400,
        "a whole number of days",
    )?;
    if days == 0 || days > MAX_IDEMPOTENCY_WINDOW_DAYS {
        let reason = format!("must be between 1 and {MAX_IDEMPOTENCY_WINDOW_DAYS} days");
        return Err(ConfigError::Invalid {
            name: IDEMPOTENCY_WINDOW_DAYS,
            reason,
        });
    }
    Ok(Some(IdempotencyConfig {
        table,
        window: Duration::from_secs(days * 86_400),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<ProcessorConfig, ConfigError> {
        ProcessorConfig::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn the_queues_are_read_and_the_rest_defaults() {
        // GIVEN both queues and nothing else
        // WHEN the configuration is read
        let config = load(&[("QUEUE_URL", "q"), (DEAD_LETTER_QUEUE_URL, "dlq")]).expect("valid");
        // THEN ten messages run at once and backoff stops at 15 minutes
        assert_eq!(config.dead_letter_queue_url, "dlq");
        assert_eq!(config.settings.concurrency, 10);
        assert_eq!(config.settings.backoff_cap, Duration::from_secs(900));
    }

    #[test]
    fn without_a_table_idempotency_is_off() {
        // GIVEN no idempotency table
        // WHEN the configuration is read
        let config = load(&[("QUEUE_URL", "q"), (DEAD_LETTER_QUEUE_URL, "dlq")]).expect("valid");
        // THEN events are not deduplicated
        assert_eq!(config.idempotency, None);
    }

    #[test]
    fn with_a_table_handled_events_are_kept_fourteen_days_unless_told_otherwise() {
        // GIVEN a table, then a table and a window of 30 days
        let base = [
            ("QUEUE_URL", "q"),
            (DEAD_LETTER_QUEUE_URL, "dlq"),
            (IDEMPOTENCY_TABLE, "t"),
        ];
        // WHEN the configuration is read
        let default = load(&base).expect("valid").idempotency.expect("on");
        let longer = load(&[base.as_slice(), &[(IDEMPOTENCY_WINDOW_DAYS, "30")]].concat())
            .expect("valid")
            .idempotency
            .expect("on");
        // THEN the window is 14 days, or the one given
        assert_eq!(
            default,
            IdempotencyConfig {
                table: "t".into(),
                window: Duration::from_secs(14 * 86_400)
            }
        );
        assert_eq!(longer.window, Duration::from_secs(30 * 86_400));
    }

    #[test]
    fn an_idempotency_window_of_zero_days_is_invalid() {
        // GIVEN a window of 0 days
        // WHEN the configuration is read
        let error = load(&[
            ("QUEUE_URL", "q"),
            (DEAD_LETTER_QUEUE_URL, "d"),
            (IDEMPOTENCY_TABLE, "t"),
            (IDEMPOTENCY_WINDOW_DAYS, "0"),
        ])
        .expect_err("refused");
        // THEN the error names the variable
        assert!(
            error
                .to_string()
                .starts_with("IDEMPOTENCY_WINDOW_DAYS is invalid"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_dead_letter_queue_is_named() {
        // GIVEN no dead-letter queue
        // WHEN the configuration is read
        let error = load(&[("QUEUE_URL", "q")]).expect_err("refused");
        // THEN the error names the variable
        assert!(
            error.to_string().starts_with("DEAD_LETTER_QUEUE_URL is not set"),
            "{error}"
        );
    }

    #[test]
    fn a_concurrency_of_zero_is_invalid() {
        // GIVEN a concurrency of 0
        // WHEN the configuration is read
        let error = load(&[
            ("QUEUE_URL", "q"),
            (DEAD_LETTER_QUEUE_URL, "d"),
            (PROCESSOR_CONCURRENCY, "0"),
        ])
        .expect_err("refused");
        // THEN the error names the variable
        assert!(
            error.to_string().starts_with("PROCESSOR_CONCURRENCY is invalid"),
            "{error}"
        );
    }

    #[test]
    fn a_backoff_cap_over_sqs_twelve_hours_is_invalid() {
        // GIVEN a cap of a day
        // WHEN the configuration is read
        let error = load(&[
            ("QUEUE_URL", "q"),
            (DEAD_LETTER_QUEUE_URL, "d"),
            (BACKOFF_CAP_SECS, "86400"),
        ])
        .expect_err("refused");
        // THEN the error names the variable
        assert!(
            error.to_string().starts_with("BACKOFF_CAP_SECS is invalid"),
            "{error}"
        );
    }
}
