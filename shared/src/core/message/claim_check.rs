//! Large events through S3 (the claim-check pattern), in the format of the AWS
//! SQS Extended Client libraries (Java, Python), so consumers built on them can
//! read the relay's queue:
//!
//! - the message body is a pointer, a JSON array of the class name and the
//!   location: `["software.amazon.payloadoffloading.PayloadS3Pointer",
//!   {"s3BucketName":"<bucket>","s3Key":"<key>"}]`;
//! - the reserved Number attribute `ExtendedPayloadSize` carries the stored
//!   body's size in bytes, and is what marks the message as a pointer. The older
//!   name `SQSLargePayloadSize` and the older class name are read too;
//! - keys are a random UUID after an optional prefix.
//!
//! What is stored is the exact body a small event's message has (the v1
//! envelope); the pointer message keeps that message's own attributes.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::OutboundMessage;
use crate::ports::queue::ReceivedMessage;

/// The class name the libraries write today (element 0 of the pointer).
pub const POINTER_CLASS: &str = "software.amazon.payloadoffloading.PayloadS3Pointer";
/// The class name older Java libraries wrote; readers ignore element 0 anyway.
pub const LEGACY_POINTER_CLASS: &str = "com.amazon.sqs.javamessaging.MessageS3Pointer";

/// The reserved attribute the relay writes (Python reads only this name).
pub const ATTRIBUTE_PAYLOAD_SIZE: &str = "ExtendedPayloadSize";
/// The older name, which Java 2.x still writes by default; read, never written.
pub const LEGACY_ATTRIBUTE_PAYLOAD_SIZE: &str = "SQSLargePayloadSize";

/// S3 keys are at most 1,024 bytes; the libraries keep 36 of them for the UUID.
pub const MAX_KEY_PREFIX_BYTES: usize = 988;

const NUMBER_DATA_TYPE: &str = "Number";
const STRING_DATA_TYPE: &str = "String";

/// The SQS data type of a relay attribute: the reserved size attributes are
/// Numbers (the libraries look for exactly that), every other one is a String.
pub fn attribute_data_type(name: &str) -> &'static str {
    if name == ATTRIBUTE_PAYLOAD_SIZE || name == LEGACY_ATTRIBUTE_PAYLOAD_SIZE {
        NUMBER_DATA_TYPE
    } else {
        STRING_DATA_TYPE
    }
}

/// Where a large event's message body is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayloadLocation {
    /// The bucket.
    pub bucket: String,
    /// The object's key.
    pub key: String,
}

impl std::fmt::Display for PayloadLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// The prefix of every stored key: `[a-zA-Z0-9./_-]`, not starting with `.` or
/// `/`, without `..`, as the libraries accept it. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPrefix(String);

/// A prefix the libraries would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyPrefixError {
    /// Over [`MAX_KEY_PREFIX_BYTES`].
    #[error("it is longer than {MAX_KEY_PREFIX_BYTES} bytes")]
    TooLong,
    /// A character other than letters, digits and `. / _ -`.
    #[error("{0:?} is not allowed: use letters, digits and . / _ -")]
    Character(char),
    /// It starts with `.` or `/`.
    #[error("it must not start with . or /")]
    Start,
    /// It contains `..`.
    #[error("it must not contain ..")]
    DotDot,
}

impl KeyPrefix {
    /// Checks `prefix` as the libraries would; the empty prefix is valid.
    pub fn parse(prefix: &str) -> Result<KeyPrefix, KeyPrefixError> {
        if prefix.len() > MAX_KEY_PREFIX_BYTES {
            return Err(KeyPrefixError::TooLong);
        }
        if let Some(c) = prefix
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-')))
        {
            return Err(KeyPrefixError::Character(c));
        }
        if prefix.starts_with(['.', '/']) {
            return Err(KeyPrefixError::Start);
        }
        if prefix.contains("..") {
            return Err(KeyPrefixError::DotDot);
        }
        Ok(KeyPrefix(prefix.to_owned()))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key no other event can have and nobody can derive from the event: the
    /// prefix and a version 4 UUID from `random` (16 bytes of a CSPRNG).
    pub fn key(&self, random: [u8; 16]) -> String {
        let mut bytes = random;
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        format!(
            "{}{}-{}-{}-{}-{}",
            self.0,
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

impl OutboundMessage {
    /// The message queued instead of this one once its body is stored at
    /// `location`: the pointer, this message's attributes, and the reserved
    /// size attribute.
    pub fn pointer_to(&self, location: &PayloadLocation) -> OutboundMessage {
        let body = serde_json::json!([
            POINTER_CLASS,
            { "s3BucketName": location.bucket, "s3Key": location.key }
        ])
        .to_string();
        let mut attributes = self.attributes.clone();
        attributes.push((ATTRIBUTE_PAYLOAD_SIZE, self.body.len().to_string()));
        OutboundMessage {
            body,
            attributes,
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
        }
    }
}

/// A message marked as a pointer whose body is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message carries {attribute} but its body is not an S3 pointer: {reason}")]
pub struct PointerError {
    /// The reserved size attribute the message carries.
    pub attribute: &'static str,
    /// What is wrong with the body.
    pub reason: String,
}

impl PointerError {
    /// The dead-letter `error_code`.
    pub fn code(&self) -> &'static str {
        "invalid_pointer"
    }
}

#[derive(Deserialize)]
struct Location {
    #[serde(rename = "s3BucketName")]
    bucket: String,
    #[serde(rename = "s3Key")]
    key: String,
}

/// The pointer a received message carries: `None` when it has neither reserved
/// attribute (an ordinary message). Element 0, the class name, is not checked.
pub fn read_pointer(message: &ReceivedMessage) -> Option<Result<PayloadLocation, PointerError>> {
    let attribute = [ATTRIBUTE_PAYLOAD_SIZE, LEGACY_ATTRIBUTE_PAYLOAD_SIZE]
        .into_iter()
        .find(|name| message.attribute(name).is_some())?;
    let invalid = |reason: String| PointerError { attribute, reason };
    let body = message.body.as_deref().unwrap_or_default();
    let parsed = serde_json::from_str::<(Box<RawValue>, Location)>(body)
        .map_err(|e| invalid(e.to_string()))
        .and_then(|(_, location)| {
            if location.bucket.is_empty() || location.key.is_empty() {
                return Err(invalid("empty s3BucketName or s3Key".into()));
            }
            Ok(PayloadLocation {
                bucket: location.bucket,
                key: location.key,
            })
        });
    Some(parsed)
}

/// The size the pointer announces, if it is a readable number.
pub fn announced_size(message: &ReceivedMessage) -> Option<usize> {
    message
        .attribute(ATTRIBUTE_PAYLOAD_SIZE)
        .or_else(|| message.attribute(LEGACY_ATTRIBUTE_PAYLOAD_SIZE))
        .and_then(|size| size.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::core::message::EventFields;
    use crate::core::protocol::Protocol;

    fn location() -> PayloadLocation {
        PayloadLocation {
            bucket: "relay-payloads".into(),
            key: "events/0f8fad5b-d9cb-469f-a165-70867728950e".into(),
        }
    }

    fn received(body: &str, attributes: &[(&str, &str)]) -> ReceivedMessage {
        ReceivedMessage {
            message_id: "m-1".into(),
            receipt_handle: Some("rh".into()),
            body: Some(body.into()),
            receive_count: 1,
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn the_pointer_is_the_libraries_json_array_with_the_size_as_a_number_attribute() {
        // GIVEN a large event's message
        let fields = EventFields {
            id: Some("e-1".into()),
            kind: Some("product.updated".into()),
            ..EventFields::default()
        };
        let message = OutboundMessage::build(Protocol::EventsApi, r#"{"a":"é"}"#, &fields, "t");
        // WHEN it is replaced by a pointer to its stored body
        let pointer = message.pointer_to(&location());
        // THEN the body is the class name and the location, and the attributes are
        // the message's own plus ExtendedPayloadSize, the body's UTF-8 byte count
        assert_eq!(
            pointer.body,
            r#"["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"relay-payloads","s3Key":"events/0f8fad5b-d9cb-469f-a165-70867728950e"}]"#
        );
        assert_eq!(
            pointer.attributes,
            vec![
                ("protocol", "events-api".to_owned()),
                ("type", "product.updated".to_owned()),
                ("id", "e-1".to_owned()),
                ("ExtendedPayloadSize", message.body.len().to_string()),
            ]
        );
        assert_eq!(attribute_data_type("ExtendedPayloadSize"), "Number");
        assert_eq!(attribute_data_type("type"), "String");
        assert_eq!(pointer.event_id.as_deref(), Some("e-1"));
    }

    #[test]
    fn a_pointer_is_read_back_whichever_attribute_name_and_spacing() {
        // GIVEN our pointer, Python's spacing with the old class name, and Java's old attribute
        let ours = OutboundMessage::build(Protocol::EventsApi, "{}", &EventFields::default(), "t")
            .pointer_to(&location());
        let python = r#"["com.amazon.sqs.javamessaging.MessageS3Pointer", {"s3BucketName": "relay-payloads", "s3Key": "events/0f8fad5b-d9cb-469f-a165-70867728950e"}]"#;
        for (body, attribute) in [
            (ours.body.as_str(), "ExtendedPayloadSize"),
            (python, "ExtendedPayloadSize"),
            (python, "SQSLargePayloadSize"),
        ] {
            // WHEN each is read
            let read = read_pointer(&received(body, &[(attribute, "12")]));
            // THEN the location comes back
            assert_eq!(read, Some(Ok(location())), "{body} with {attribute}");
        }
    }

    #[test]
    fn a_message_without_the_reserved_attribute_is_no_pointer_whatever_its_body() {
        // GIVEN a pointer-shaped body without the attribute
        let body =
            r#"["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]"#;
        // WHEN it is read
        // THEN it is an ordinary message
        assert_eq!(read_pointer(&received(body, &[("type", "x")])), None);
    }

    #[test]
    fn a_marked_message_whose_body_is_not_a_pointer_is_an_invalid_pointer() {
        for body in [
            r#"{"v":1}"#,
            r#"["x"]"#,
            r#"["x",{"s3BucketName":"b"}]"#,
            r#"["x",{"s3BucketName":"","s3Key":"k"}]"#,
        ] {
            // GIVEN a message marked with the reserved attribute and a body that is no pointer
            // WHEN it is read
            let read = read_pointer(&received(body, &[("ExtendedPayloadSize", "1")]));
            // THEN it is an invalid pointer
            let error = read.expect("marked").expect_err("not a pointer");
            assert_eq!(error.code(), "invalid_pointer", "{body}");
        }
    }

    #[test]
    fn the_announced_size_is_read_from_either_name() {
        // GIVEN the new and the old attribute
        // WHEN the sizes are read
        // THEN both give the number
        assert_eq!(
            announced_size(&received("", &[("ExtendedPayloadSize", "1500000")])),
            Some(1_500_000)
        );
        assert_eq!(
            announced_size(&received("", &[("SQSLargePayloadSize", "7")])),
            Some(7)
        );
    }

    #[test]
    fn keys_are_a_version_4_uuid_after_the_prefix() {
        // GIVEN a prefix and sixteen random bytes
        let prefix = KeyPrefix::parse("akeneo/events/").expect("valid");
        // WHEN a key is made
        let key = prefix.key([0xff; 16]);
        // THEN it is the prefix and a UUID with the version and variant bits set
        assert_eq!(key, "akeneo/events/ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn prefixes_the_libraries_refuse_are_refused() {
        // GIVEN prefixes the libraries refuse
        for (prefix, error) in [
            ("events/ü", KeyPrefixError::Character('ü')),
            ("a b", KeyPrefixError::Character(' ')),
            (".hidden", KeyPrefixError::Start),
            ("/root", KeyPrefixError::Start),
            ("a/../b", KeyPrefixError::DotDot),
        ] {
            // WHEN each is parsed
            // THEN it is refused, saying why
            assert_eq!(KeyPrefix::parse(prefix), Err(error), "{prefix}");
        }
        assert_eq!(KeyPrefix::parse(&"a".repeat(989)), Err(KeyPrefixError::TooLong));
        assert!(KeyPrefix::parse("").is_ok() && KeyPrefix::parse("a.b/c_d-1/").is_ok());
    }
}
