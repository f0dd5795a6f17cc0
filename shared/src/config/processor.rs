use std::time::Duration;

use super::{ConfigError, delete_payloads_when_done, number, required};
use crate::core::processor::{DEFAULT_BACKOFF_CAP, DEFAULT_CONCURRENCY, Settings};

pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
pub const PROCESSOR_CONCURRENCY: &str = "PROCESSOR_CONCURRENCY";
pub const BACKOFF_CAP_SECS: &str = "BACKOFF_CAP_SECS";

/// SQS refuses visibility timeouts over 12 hours.
const MAX_BACKOFF_CAP_SECS: u64 = 12 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorConfig {
    /// The queue the batch comes from, for visibility changes.
    pub queue_url: String,
    /// Where rejected and malformed messages go at once.
    pub dead_letter_queue_url: String,
    pub settings: Settings,
    /// Delete a large event's object once its message is done.
    pub delete_payloads_when_done: bool,
}

impl ProcessorConfig {
    pub fn from_env() -> Result<ProcessorConfig, ConfigError> {
        ProcessorConfig::from_lookup(|name| std::env::var(name).ok())
    }

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
        })
    }
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
