use std::time::Duration;

use super::{ConfigError, number, required};

pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
pub const PROCESSOR_CONCURRENCY: &str = "PROCESSOR_CONCURRENCY";
pub const BACKOFF_CAP_SECS: &str = "BACKOFF_CAP_SECS";

pub const DEFAULT_CONCURRENCY: usize = 10;
pub const DEFAULT_BACKOFF_CAP_SECS: u64 = 900;
/// SQS refuses visibility timeouts over 12 hours.
const MAX_BACKOFF_CAP_SECS: u64 = 12 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorConfig {
    /// The queue the batch comes from, for visibility changes.
    pub queue_url: String,
    /// Where rejected and malformed messages go at once.
    pub dead_letter_queue_url: String,
    /// How many messages of a batch run at the same time.
    pub concurrency: usize,
    /// The longest a retried message waits before it is visible again.
    pub backoff_cap: Duration,
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
            DEFAULT_BACKOFF_CAP_SECS,
            "a whole number of seconds",
        )?;
        if cap == 0 || cap > MAX_BACKOFF_CAP_SECS {
            let reason = format!("must be between 1 and {MAX_BACKOFF_CAP_SECS} seconds (SQS's limit)");
            return Err(ConfigError::Invalid {
                name: BACKOFF_CAP_SECS,
                reason,
            });
        }
        Ok(ProcessorConfig {
            queue_url,
            dead_letter_queue_url,
            concurrency,
            backoff_cap: Duration::from_secs(cap),
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
    fn reads_queues_with_defaults() {
        let config = load(&[("QUEUE_URL", "q"), (DEAD_LETTER_QUEUE_URL, "dlq")]).unwrap();
        assert_eq!(config.concurrency, 10);
        assert_eq!(config.backoff_cap, Duration::from_secs(900));
        assert_eq!(config.dead_letter_queue_url, "dlq");
    }

    #[test]
    fn errors_name_the_variable() {
        let error = load(&[("QUEUE_URL", "q")]).unwrap_err();
        assert!(
            error.to_string().starts_with("DEAD_LETTER_QUEUE_URL is not set"),
            "{error}"
        );
        let error = load(&[
            ("QUEUE_URL", "q"),
            (DEAD_LETTER_QUEUE_URL, "d"),
            (PROCESSOR_CONCURRENCY, "0"),
        ]);
        assert!(
            error
                .unwrap_err()
                .to_string()
                .starts_with("PROCESSOR_CONCURRENCY is invalid")
        );
        let error = load(&[
            ("QUEUE_URL", "q"),
            (DEAD_LETTER_QUEUE_URL, "d"),
            (BACKOFF_CAP_SECS, "86400"),
        ]);
        assert!(
            error
                .unwrap_err()
                .to_string()
                .starts_with("BACKOFF_CAP_SECS is invalid")
        );
    }
}
