//! Large events: where the receiver stores the bodies too large for one queue
//! message, and whether the processor deletes them once handled.

use super::{ConfigError, number, read};
use crate::core::message::{KeyPrefix, SQS_MAX_MESSAGE_BYTES};

/// `PAYLOAD_BUCKET`: the S3 bucket for events too large for a queue message.
pub const PAYLOAD_BUCKET: &str = "PAYLOAD_BUCKET";
/// `PAYLOAD_KEY_PREFIX`: the prefix of their object keys (see [`KeyPrefix`]).
pub const PAYLOAD_KEY_PREFIX: &str = "PAYLOAD_KEY_PREFIX";
/// `QUEUE_MAX_MESSAGE_BYTES`: the queue's maximum message size, in bytes
/// (1 024 up to SQS's limit, the default).
pub const QUEUE_MAX_MESSAGE_BYTES: &str = "QUEUE_MAX_MESSAGE_BYTES";
/// `PAYLOAD_DELETE_WHEN_DONE`: whether the processor deletes a large event's
/// object once handled (`true`, the default, or `false`).
pub const PAYLOAD_DELETE_WHEN_DONE: &str = "PAYLOAD_DELETE_WHEN_DONE";

/// SQS's smallest MaximumMessageSize.
const MIN_QUEUE_MESSAGE_BYTES: usize = 1_024;

/// The receiver's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeEventsConfig {
    /// The S3 bucket for events too large for one queue message; without one
    /// they are refused with 413.
    pub bucket: Option<String>,
    /// The prefix of the objects' keys.
    pub key_prefix: KeyPrefix,
    /// Messages over this size (as SQS counts it) go through the bucket.
    pub max_message_bytes: usize,
}

impl LargeEventsConfig {
    /// Reads the receiver's large-event variables through `lookup` (blank
    /// counts as unset).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<LargeEventsConfig, ConfigError> {
        let key_prefix = match read(lookup, PAYLOAD_KEY_PREFIX) {
            None => KeyPrefix::default(),
            Some(prefix) => KeyPrefix::parse(&prefix).map_err(|error| ConfigError::Invalid {
                name: PAYLOAD_KEY_PREFIX,
                reason: error.to_string(),
            })?,
        };
        let max_message_bytes = number(
            lookup,
            QUEUE_MAX_MESSAGE_BYTES,
            SQS_MAX_MESSAGE_BYTES,
            "a whole number of bytes",
        )?;
        if !(MIN_QUEUE_MESSAGE_BYTES..=SQS_MAX_MESSAGE_BYTES).contains(&max_message_bytes) {
            return Err(ConfigError::Invalid {
                name: QUEUE_MAX_MESSAGE_BYTES,
                reason: format!(
                    "must be between {MIN_QUEUE_MESSAGE_BYTES} and {SQS_MAX_MESSAGE_BYTES} (SQS's limits)"
                ),
            });
        }
        Ok(LargeEventsConfig {
            bucket: read(lookup, PAYLOAD_BUCKET),
            key_prefix,
            max_message_bytes,
        })
    }
}

/// The processor's side: delete a large event's object once its message is
/// done (default), or leave it to the bucket's lifecycle rule.
pub fn delete_payloads_when_done(lookup: &impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match read(lookup, PAYLOAD_DELETE_WHEN_DONE).map(|v| v.to_ascii_lowercase()) {
        None => Ok(true),
        Some(value) => match value.as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(ConfigError::Invalid {
                name: PAYLOAD_DELETE_WHEN_DONE,
                reason: format!("{value:?} is not true or false"),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn without_settings_there_is_no_bucket_and_the_limit_is_sqs_one_mebibyte() {
        // GIVEN nothing set
        // WHEN the large event settings are read
        let config = LargeEventsConfig::from_lookup(&lookup(&[])).expect("valid");
        // THEN large events have nowhere to go, and a message may be 1 MiB
        assert_eq!(config.bucket, None);
        assert_eq!(config.key_prefix, KeyPrefix::default());
        assert_eq!(config.max_message_bytes, 1_048_576);
    }

    #[test]
    fn the_bucket_prefix_and_a_smaller_queue_limit_are_read() {
        // GIVEN a bucket, a prefix and a 256 KiB queue
        let vars = [
            (PAYLOAD_BUCKET, "relay-payloads"),
            (PAYLOAD_KEY_PREFIX, "events/"),
            (QUEUE_MAX_MESSAGE_BYTES, "262144"),
        ];
        // WHEN the large event settings are read
        let config = LargeEventsConfig::from_lookup(&lookup(&vars)).expect("valid");
        // THEN all three are there
        assert_eq!(config.bucket.as_deref(), Some("relay-payloads"));
        assert_eq!(config.key_prefix.as_str(), "events/");
        assert_eq!(config.max_message_bytes, 262_144);
    }

    #[test]
    fn a_limit_outside_sqs_range_and_a_prefix_the_libraries_refuse_are_named() {
        for (name, value) in [
            (QUEUE_MAX_MESSAGE_BYTES, "2097152"),
            (QUEUE_MAX_MESSAGE_BYTES, "512"),
            (PAYLOAD_KEY_PREFIX, "../up"),
        ] {
            // GIVEN a value out of range or refused
            // WHEN the large event settings are read
            let error = LargeEventsConfig::from_lookup(&lookup(&[(name, value)])).expect_err("refused");
            // THEN the error names the variable
            assert!(
                error.to_string().starts_with(&format!("{name} is invalid")),
                "{error}"
            );
        }
    }

    #[test]
    fn objects_are_deleted_when_done_unless_switched_off() {
        // GIVEN nothing, "false", and "maybe"
        // WHEN the processor's setting is read
        // THEN it defaults to deleting, can be switched off, and refuses the rest
        assert_eq!(delete_payloads_when_done(&lookup(&[])), Ok(true));
        assert_eq!(
            delete_payloads_when_done(&lookup(&[(PAYLOAD_DELETE_WHEN_DONE, "false")])),
            Ok(false)
        );
        assert!(delete_payloads_when_done(&lookup(&[(PAYLOAD_DELETE_WHEN_DONE, "maybe")])).is_err());
    }
}
