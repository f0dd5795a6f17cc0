//! Writing the envelope around an event's exact bytes.

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use super::sqs_text::{is_sqs_json, sqs_accepts, sqs_clean};
use super::{
    ATTRIBUTE_ID, ATTRIBUTE_PROTOCOL, ATTRIBUTE_TENANT, ATTRIBUTE_TYPE, ENVELOPE_VERSION, EventFields,
    SQS_MAX_MESSAGE_BYTES, attribute_data_type,
};
use crate::core::protocol::Protocol;

/// One message ready for the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// The envelope (or a pointer's JSON).
    pub body: String,
    /// Attributes for filtering; absent fields are left out, as SQS refuses
    /// empty attribute values. All are Strings but the reserved size of a
    /// pointer (see [`attribute_data_type`]).
    pub attributes: Vec<(&'static str, String)>,
    /// The event's Akeneo id, for logs.
    pub event_id: Option<String>,
    /// The event's type, for logs.
    pub event_type: Option<String>,
}

impl OutboundMessage {
    /// The envelope around `raw` (the event's bytes as received) with the fields
    /// lifted from it, queued at `received_at` (see [`format_timestamp`]).
    pub fn build(protocol: Protocol, raw: &str, fields: &EventFields, received_at: &str) -> OutboundMessage {
        OutboundMessage::build_for_tenant(None, protocol, raw, fields, received_at)
    }

    /// As [`OutboundMessage::build`], stamped with the tenant whose route
    /// received it (a field of the envelope and an attribute); `None` builds
    /// exactly what `build` does.
    pub fn build_for_tenant(
        tenant: Option<&str>,
        protocol: Protocol,
        raw: &str,
        fields: &EventFields,
        received_at: &str,
    ) -> OutboundMessage {
        let mut body = String::with_capacity(raw.len() + 320);
        body.push_str(r#"{"v":"#);
        body.push_str(&ENVELOPE_VERSION.to_string());
        push_field(&mut body, "protocol", Some(protocol.as_str()));
        if let Some(tenant) = tenant {
            push_field(&mut body, "tenant", Some(tenant));
        }
        push_field(&mut body, "id", fields.id.as_deref());
        push_field(&mut body, "type", fields.kind.as_deref());
        push_field(&mut body, "occurred_at", fields.occurred_at.as_deref());
        push_field(&mut body, "source", fields.source.as_deref());
        push_field(&mut body, "received_at", Some(received_at));
        if is_sqs_json(raw) {
            body.push_str(r#","event":"#);
            body.push_str(raw);
        } else {
            // Valid JSON, yet SQS would refuse the message: the event travels as
            // a JSON string of its exact text, which the reader turns back.
            body.push_str(r#","event_text":"#);
            push_json_string(&mut body, raw);
        }
        body.push('}');

        let mut attributes = vec![(ATTRIBUTE_PROTOCOL, protocol.as_str().to_owned())];
        if let Some(tenant) = tenant.filter(|t| !t.is_empty()) {
            attributes.push((ATTRIBUTE_TENANT, sqs_clean(tenant)));
        }
        for (name, value) in [(ATTRIBUTE_TYPE, &fields.kind), (ATTRIBUTE_ID, &fields.id)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                attributes.push((name, sqs_clean(value)));
            }
        }
        OutboundMessage {
            body,
            attributes,
            event_id: fields.id.clone(),
            event_type: fields.kind.clone(),
        }
    }

    /// The size SQS counts against its limit: the body plus each attribute's name,
    /// data type and value.
    pub fn sqs_size(&self) -> usize {
        let attributes: usize = self
            .attributes
            .iter()
            .map(|(name, value)| name.len() + attribute_data_type(name).len() + value.len())
            .sum();
        self.body.len() + attributes
    }

    /// Whether SQS takes it as one message.
    pub fn fits_in_sqs(&self) -> bool {
        self.sqs_size() <= SQS_MAX_MESSAGE_BYTES
    }

    /// The value of the attribute `name`, if set.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.as_str())
    }
}

fn push_field(body: &mut String, name: &str, value: Option<&str>) {
    body.push_str(",\"");
    body.push_str(name);
    body.push_str("\":");
    match value {
        Some(value) => push_json_string(body, value),
        None => body.push_str("null"),
    }
}

fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || !sqs_accepts(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

const RECEIVED_AT: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// RFC 3339 in UTC with milliseconds, as `received_at` carries it.
pub fn format_timestamp(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(RECEIVED_AT)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn the_envelope_wraps_the_raw_event_byte_for_byte() {
        // GIVEN a PIM-escaped event and its lifted fields, one with a quote and a newline
        let raw = r#"{"b" : "https:\/\/x", "a":"\u00e9"}"#;
        let fields = EventFields {
            id: Some("e-1".into()),
            kind: Some("product.updated".into()),
            occurred_at: Some("2020-10-20T09:13:59+00:00".into()),
            source: Some("say \"hi\"\n".into()),
        };
        // WHEN the message is built
        let message = OutboundMessage::build(Protocol::EventsApi, raw, &fields, "2026-01-02T03:04:05.678Z");
        // THEN the body is the envelope with the event's bytes untouched and the fields escaped
        assert_eq!(
            message.body,
            concat!(
                r#"{"v":1,"protocol":"events-api","id":"e-1","type":"product.updated","#,
                r#""occurred_at":"2020-10-20T09:13:59+00:00","source":"say \"hi\"\u000a","#,
                r#""received_at":"2026-01-02T03:04:05.678Z","event":{"b" : "https:\/\/x", "a":"\u00e9"}}"#
            )
        );
        let parsed: serde_json::Value = serde_json::from_str(&message.body).expect("JSON");
        assert_eq!(parsed["source"], "say \"hi\"\n");
    }

    #[test]
    fn the_attributes_are_protocol_type_and_id() {
        // GIVEN an event with an id and a type
        let fields = EventFields {
            id: Some("e-1".into()),
            kind: Some("product.updated".into()),
            ..EventFields::default()
        };
        // WHEN the message is built
        let message = OutboundMessage::build(Protocol::EventsApi, "{}", &fields, "t");
        // THEN its attributes carry them
        assert_eq!(
            message.attributes,
            vec![
                ("protocol", "events-api".into()),
                ("type", "product.updated".into()),
                ("id", "e-1".into())
            ]
        );
    }

    #[test]
    fn absent_fields_are_null_in_the_body_and_left_out_of_the_attributes() {
        // GIVEN an event without any lifted field
        // WHEN the message is built
        let message = OutboundMessage::build(Protocol::EventPlatform, "{}", &EventFields::default(), "t");
        // THEN the body says null and only the protocol attribute is set
        assert_eq!(
            message.body,
            r#"{"v":1,"protocol":"event-platform","id":null,"type":null,"occurred_at":null,"source":null,"received_at":"t","event":{}}"#
        );
        assert_eq!(message.attributes, vec![("protocol", "event-platform".into())]);
    }

    #[test]
    fn a_tenants_event_carries_its_tenant_in_the_envelope_and_an_attribute() {
        // GIVEN an event received on tenant acme's route
        let fields = EventFields {
            id: Some("e-1".into()),
            ..EventFields::default()
        };
        // WHEN its message is built
        let message =
            OutboundMessage::build_for_tenant(Some("acme"), Protocol::EventsApi, "{}", &fields, "t");
        // THEN the tenant follows the protocol in the body, and is an attribute
        assert!(
            message
                .body
                .starts_with(r#"{"v":1,"protocol":"events-api","tenant":"acme","id":"e-1""#),
            "{}",
            message.body
        );
        assert_eq!(message.attribute(ATTRIBUTE_TENANT), Some("acme"));
    }

    #[test]
    fn the_size_counts_the_body_and_each_attributes_name_type_and_value() {
        // GIVEN a message with two attributes
        let fields = EventFields {
            id: Some("abc".into()),
            ..EventFields::default()
        };
        let message = OutboundMessage::build(Protocol::EventsApi, "{}", &fields, "t");
        // WHEN its SQS size is computed
        let size = message.sqs_size();
        // THEN it is the body plus "protocol"/String/"events-api" and "id"/String/"abc"
        let attributes = ("protocol".len() + 6 + 10) + ("id".len() + 6 + 3);
        assert_eq!(size, message.body.len() + attributes);
    }

    #[test]
    fn received_at_is_utc_with_milliseconds() {
        // GIVEN an instant with milliseconds
        let at = UNIX_EPOCH + Duration::from_millis(1_602_565_368_042);
        // WHEN it is formatted
        // THEN it is RFC 3339 in UTC with three decimals
        assert_eq!(format_timestamp(at), "2020-10-13T05:02:48.042Z");
    }
}
