//! Reading the envelope back: the processor's side of the contract.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ENVELOPE_VERSION;
use crate::core::protocol::Protocol;

/// A message body that is not an envelope this code reads: permanent, as no
/// retry will change its body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not an envelope: not JSON, no version, an unknown protocol,
    /// no event.
    #[error("the message body is not a relay envelope: {0}")]
    Invalid(String),
    /// An envelope of another version.
    #[error("envelope version {0} is not supported (this processor reads version {ENVELOPE_VERSION})")]
    UnsupportedVersion(u64),
}

impl EnvelopeError {
    /// The dead-letter `error_code`.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Invalid(_) => "invalid_envelope",
            EnvelopeError::UnsupportedVersion(_) => "unsupported_version",
        }
    }
}

/// An envelope as read: the lifted fields and the event's exact bytes.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The protocol that delivered the event.
    pub protocol: Protocol,
    /// The tenant whose route received it; `None` without tenants.
    pub tenant: Option<String>,
    /// The event's Akeneo id.
    pub id: Option<String>,
    /// Its type (`action` or `type`).
    pub kind: Option<String>,
    /// When it happened, as the event says it.
    pub occurred_at: Option<String>,
    /// `pim_source` or `subject`.
    pub source: Option<String>,
    /// When the receiver queued it (RFC 3339, UTC).
    pub received_at: Option<String>,
    /// The event's exact bytes.
    pub event: Box<RawValue>,
}

#[derive(Deserialize)]
struct Version {
    v: Option<u64>,
}

#[derive(Deserialize)]
struct Fields {
    protocol: String,
    #[serde(default)]
    tenant: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    occurred_at: Option<String>,
    source: Option<String>,
    received_at: Option<String>,
    event: Option<Box<RawValue>>,
    /// The event's exact text when it holds characters SQS refuses.
    event_text: Option<String>,
}

/// Reads a queue message body; the version is checked before anything else so
/// a future format is named as such, not as garbage.
pub fn read_envelope(body: &str) -> Result<Envelope, EnvelopeError> {
    let invalid = |e: serde_json::Error| EnvelopeError::Invalid(e.to_string());
    let version: Version = serde_json::from_str(body).map_err(invalid)?;
    match version.v {
        Some(v) if v == u64::from(ENVELOPE_VERSION) => {}
        Some(other) => return Err(EnvelopeError::UnsupportedVersion(other)),
        None => return Err(EnvelopeError::Invalid("no version field \"v\"".into())),
    }
    let fields: Fields = serde_json::from_str(body).map_err(invalid)?;
    let protocol = Protocol::from_name(&fields.protocol)
        .ok_or_else(|| EnvelopeError::Invalid(format!("unknown protocol {:?}", fields.protocol)))?;
    let event = match (fields.event, fields.event_text) {
        (Some(event), None) => event,
        (None, Some(text)) => RawValue::from_string(text)
            .map_err(|e| EnvelopeError::Invalid(format!("event_text is not one JSON value: {e}")))?,
        _ => {
            return Err(EnvelopeError::Invalid(
                "exactly one of \"event\" and \"event_text\" is needed".into(),
            ));
        }
    };
    Ok(Envelope {
        protocol,
        tenant: fields.tenant,
        id: fields.id,
        kind: fields.kind,
        occurred_at: fields.occurred_at,
        source: fields.source,
        received_at: fields.received_at,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::{EventFields, OutboundMessage};

    #[test]
    fn what_the_writer_writes_the_reader_reads_back_byte_for_byte() {
        // GIVEN a message written around an escaped event
        let raw = r#"{"a" : "https:\/\/x\u00e9"}"#;
        let fields = EventFields {
            id: Some("e-1".into()),
            kind: Some("product.updated".into()),
            occurred_at: Some("2020-10-20T09:13:59+00:00".into()),
            source: Some("https://demo.akeneo.com".into()),
        };
        let message = OutboundMessage::build(Protocol::EventsApi, raw, &fields, "2026-01-02T03:04:05.678Z");
        // WHEN it is read
        let envelope = read_envelope(&message.body).expect("an envelope");
        // THEN every field and the event's exact bytes come back
        assert_eq!(envelope.protocol, Protocol::EventsApi);
        assert_eq!(
            (envelope.id, envelope.kind, envelope.occurred_at, envelope.source),
            (fields.id, fields.kind, fields.occurred_at, fields.source)
        );
        assert_eq!(envelope.received_at.as_deref(), Some("2026-01-02T03:04:05.678Z"));
        assert_eq!(envelope.event.get(), raw);
    }

    #[test]
    fn an_event_with_characters_sqs_refuses_travels_as_text_and_comes_back_byte_for_byte() {
        // GIVEN an event holding a raw U+FFFF and U+FFFE (valid JSON) and an id with a form feed
        let raw = "{\"id\":\"a\\fb\",\"data\":\"x\u{FFFF}y\u{FFFE}\",\"q\":\"\\\"\"}";
        let fields = EventFields {
            id: Some("a\u{C}b".into()),
            ..EventFields::default()
        };
        // WHEN it is written and read back
        let message = OutboundMessage::build(Protocol::EventPlatform, raw, &fields, "t");
        let envelope = read_envelope(&message.body).expect("an envelope");
        // THEN the message holds only what SQS accepts, and the event and id come back exactly
        assert!(
            crate::core::message::sqs_text::is_sqs_text(&message.body),
            "{}",
            message.body
        );
        assert!(
            message
                .attributes
                .iter()
                .all(|(_, v)| crate::core::message::sqs_text::is_sqs_text(v))
        );
        assert!(message.body.contains(r#""event_text":"#));
        assert_eq!(envelope.event.get(), raw);
        assert_eq!(envelope.id.as_deref(), Some("a\u{C}b"));
    }

    #[test]
    fn an_envelope_with_both_or_neither_event_forms_is_invalid() {
        // GIVEN envelopes with both event forms, and with neither
        for body in [
            r#"{"v":1,"protocol":"events-api","event":{},"event_text":"{}"}"#,
            r#"{"v":1,"protocol":"events-api"}"#,
            r#"{"v":1,"protocol":"events-api","event_text":"{"}"#,
        ] {
            // WHEN one is read
            let error = read_envelope(body).expect_err("refused");
            // THEN it is an invalid envelope
            assert_eq!(error.code(), "invalid_envelope", "{body}");
        }
    }

    #[test]
    fn another_version_is_named_as_unsupported() {
        // GIVEN a version 2 envelope
        // WHEN it is read
        let error = read_envelope(r#"{"v":2,"event":{}}"#).expect_err("refused");
        // THEN it is unsupported, not invalid
        assert_eq!(error, EnvelopeError::UnsupportedVersion(2));
        assert_eq!(error.code(), "unsupported_version");
    }

    #[test]
    fn broken_envelopes_are_invalid() {
        // GIVEN bodies no receiver writes
        for body in [
            "not json",
            r#"{"protocol":"events-api"}"#,
            r#"{"v":1,"protocol":"smtp","event":{}}"#,
            r#"{"v":1}"#,
        ] {
            // WHEN one is read
            let error = read_envelope(body).expect_err("refused");
            // THEN it is an invalid envelope
            assert_eq!(error.code(), "invalid_envelope", "{body}: {error}");
        }
    }
}
