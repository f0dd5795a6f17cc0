//! Reading the envelope back: the processor's side of the contract.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ENVELOPE_VERSION;
use crate::core::protocol::Protocol;

/// A message body that is not an envelope this code reads: permanent, as no
/// retry will change its body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the message body is not a relay envelope: {0}")]
    Invalid(String),
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
    pub protocol: Protocol,
    pub id: Option<String>,
    pub kind: Option<String>,
    pub occurred_at: Option<String>,
    pub source: Option<String>,
    pub received_at: Option<String>,
    pub event: Box<RawValue>,
}

#[derive(Deserialize)]
struct Version {
    v: Option<u64>,
}

#[derive(Deserialize)]
struct Fields {
    protocol: String,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    occurred_at: Option<String>,
    source: Option<String>,
    received_at: Option<String>,
    event: Box<RawValue>,
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
    Ok(Envelope {
        protocol,
        id: fields.id,
        kind: fields.kind,
        occurred_at: fields.occurred_at,
        source: fields.source,
        received_at: fields.received_at,
        event: fields.event,
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
