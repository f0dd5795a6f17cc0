//! Splits a verified body into its events without re-serialising them: each event
//! is kept as the exact slice of the body it came from.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer as _};
use serde_json::value::RawValue;

use crate::core::message::EventFields;
use crate::core::protocol::Protocol;

/// One event of a request: its bytes as received and the fields lifted from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingEvent<'a> {
    /// The event's JSON, exactly as in the body.
    pub raw: &'a str,
    /// What the queue envelope lifts from it.
    pub fields: EventFields,
}

/// Why a body could not be split into events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON (or not UTF-8).
    #[error("the body is not valid JSON")]
    NotJson,
    /// JSON, but not the shape this protocol delivers (named here).
    #[error("the body is not {0}")]
    NotEnvelope(&'static str),
}

/// JSON is UTF-8: a body that is not is refused whole, up front (serde skips
/// the values it ignores without checking them, so a stray byte in an unread
/// field would otherwise pass).
pub fn split_events(protocol: Protocol, body: &[u8]) -> Result<Vec<IncomingEvent<'_>>, BodyError> {
    let body = std::str::from_utf8(body).map_err(|_| BodyError::NotJson)?;
    match protocol {
        Protocol::EventsApi => split_events_api(body),
        Protocol::EventPlatform => split_event_platform(body),
        // The relay writes catch-up events itself; no request carries them.
        Protocol::CatchUp => Err(BodyError::NotEnvelope("a request of Akeneo's")),
    }
}

const EVENTS_API_SHAPE: &str = r#"an Events API envelope {"events":[{...}]}"#;
const EVENT_PLATFORM_SHAPE: &str = "a CloudEvent object or an array of them";

fn split_events_api(body: &str) -> Result<Vec<IncomingEvent<'_>>, BodyError> {
    let mut reader = serde_json::Deserializer::from_str(body);
    let events = reader
        .deserialize_map(EventsApiEnvelope)
        .and_then(|events| reader.end().map(|()| events))
        .map_err(|e| classify(e, body, EVENTS_API_SHAPE))?;
    events
        .into_iter()
        .map(|raw| {
            let [event_id, action, event_datetime, event_date, pim_source] = lift(
                raw,
                ["event_id", "action", "event_datetime", "event_date", "pim_source"],
                EVENTS_API_SHAPE,
            )?;
            Ok(IncomingEvent {
                raw: raw.get(),
                fields: EventFields {
                    id: event_id,
                    kind: action,
                    occurred_at: event_datetime.or(event_date),
                    source: pim_source,
                },
            })
        })
        .collect()
}

fn split_event_platform(body: &str) -> Result<Vec<IncomingEvent<'_>>, BodyError> {
    let first = body.bytes().find(|b| !b.is_ascii_whitespace());
    let raws: Vec<&RawValue> = if first == Some(b'[') {
        serde_json::from_str(body).map_err(|e| classify(e, body, EVENT_PLATFORM_SHAPE))?
    } else {
        vec![serde_json::from_str(body).map_err(|e| classify(e, body, EVENT_PLATFORM_SHAPE))?]
    };
    raws.into_iter()
        .map(|raw| {
            let [id, kind, time, subject] =
                lift(raw, ["id", "type", "time", "subject"], EVENT_PLATFORM_SHAPE)?;
            Ok(IncomingEvent {
                raw: raw.get(),
                fields: EventFields {
                    id,
                    kind,
                    occurred_at: time,
                    source: subject,
                },
            })
        })
        .collect()
}

/// The named string fields of one event object; see [`Fields`].
fn lift<const N: usize>(
    raw: &RawValue,
    names: [&'static str; N],
    shape: &'static str,
) -> Result<[Option<String>; N], BodyError> {
    if !raw.get().starts_with('{') {
        return Err(BodyError::NotEnvelope(shape));
    }
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    let fields = reader
        .deserialize_map(Fields { names })
        .map_err(|e| classify(e, raw.get(), shape))?;
    Ok(fields.map(text))
}

/// Whether a refused body is JSON at all decides the answer, not the error
/// serde met first: `[` alone is refused as "not an object" before its end is
/// read, and valid JSON can fail as a syntax error (a lone surrogate escape in
/// a lifted field).
fn classify(_error: serde_json::Error, body: &str, shape: &'static str) -> BodyError {
    if serde_json::from_str::<IgnoredAny>(body).is_ok() {
        BodyError::NotEnvelope(shape)
    } else {
        BodyError::NotJson
    }
}

/// The Events API envelope: an object whose `events` is an array. A repeated
/// key keeps its last value, as PHP's and JavaScript's parsers do; serde's
/// derive would refuse the body (and read an array as the struct).
struct EventsApiEnvelope;

impl<'de> Visitor<'de> for EventsApiEnvelope {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(EVENTS_API_SHAPE)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut events = None;
        while let Some(is_events) = map.next_key_seed(KeyIndex { names: &["events"] })? {
            match is_events {
                Some(_) => events = Some(map.next_value::<Vec<&'de RawValue>>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        events.ok_or_else(|| de::Error::missing_field("events"))
    }
}

/// Some fields of an object as their raw JSON, a repeated key keeping its last
/// value.
struct Fields<const N: usize> {
    names: [&'static str; N],
}

impl<'de, const N: usize> Visitor<'de> for Fields<N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = [None; N];
        while let Some(index) = map.next_key_seed(KeyIndex { names: &self.names })? {
            match index {
                Some(i) => values[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

/// Which of `names` a key is, without allocating for it.
struct KeyIndex<'n> {
    names: &'n [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = Option<usize>;

    /// As raw JSON: a key may hold a lone surrogate escape (valid JSON) that
    /// serde_json refuses to make a `str` of, and decoding it as bytes would
    /// let raw control characters through. Such a key is none of ours.
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?.get();
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        if !inner.contains('\\') {
            return Ok(self.names.iter().position(|name| *name == inner));
        }
        Ok(serde_json::from_str::<String>(raw)
            .ok()
            .and_then(|key| self.names.iter().position(|name| *name == key)))
    }
}

/// A string field's value, or nothing: a signed event with an odd field is
/// still forwarded, so a wrong type lifts as `None` instead of refusing the
/// request. A lone surrogate escape (valid JSON, not a Rust string) lifts with
/// U+FFFD for each of its bytes, so the id stays stable across deliveries.
fn text(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?.get();
    if !raw.starts_with('"') {
        return None;
    }
    // Most values have no escape: their text is the value, no second parse.
    let inner = &raw[1..raw.len() - 1];
    if !inner.contains('\\') {
        return Some(inner.to_owned());
    }
    match serde_json::from_str::<String>(raw) {
        Ok(value) => Some(value),
        Err(_) => {
            let mut reader = serde_json::Deserializer::from_str(raw);
            reader.deserialize_bytes(LossyText).ok()
        }
    }
}

struct LossyText;

impl<'de> Visitor<'de> for LossyText {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<String, E> {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fixture, fixture_files};

    /// The raw event must be a sub-slice of the body: same bytes, same place.
    fn assert_slice_of(raw: &str, body: &[u8]) {
        let start = raw.as_ptr() as usize - body.as_ptr() as usize;
        assert_eq!(&body[start..start + raw.len()], raw.as_bytes());
    }

    #[test]
    fn every_events_api_fixture_splits_into_exact_slices_of_the_body() {
        for file in fixture_files("events-api") {
            // GIVEN an Events API body as the PIM sends it
            let body = fixture(&file);
            // WHEN it is split
            let events = split_events(Protocol::EventsApi, &body).expect("splits");
            // THEN each event is the exact slice of the body it came from, in order
            let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            let expected = parsed["events"].as_array().expect("events");
            assert_eq!(events.len(), expected.len(), "{file}");
            for (event, value) in events.iter().zip(expected) {
                assert_slice_of(event.raw, &body);
                assert_eq!(
                    &serde_json::from_str::<serde_json::Value>(event.raw).expect("JSON"),
                    value
                );
            }
        }
    }

    #[test]
    fn every_events_api_fixture_lifts_id_action_time_and_pim() {
        for file in fixture_files("events-api") {
            // GIVEN an Events API body
            let body = fixture(&file);
            // WHEN it is split
            let events = split_events(Protocol::EventsApi, &body).expect("splits");
            // THEN each event's id, action, time and source are lifted
            let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            for (event, value) in events.iter().zip(parsed["events"].as_array().expect("events")) {
                let fields = &event.fields;
                assert_eq!(fields.id.as_deref(), value["event_id"].as_str(), "{file}");
                assert_eq!(fields.kind.as_deref(), value["action"].as_str());
                assert_eq!(fields.occurred_at.as_deref(), value["event_datetime"].as_str());
                assert_eq!(fields.source.as_deref(), value["pim_source"].as_str());
                assert!(fields.id.is_some() && fields.kind.is_some());
            }
        }
    }

    #[test]
    fn every_event_platform_fixture_is_one_event_whose_bytes_are_the_trimmed_body() {
        for file in fixture_files("event-platform") {
            // GIVEN one CloudEvent as the Event Platform sends it
            let body = fixture(&file);
            // WHEN it is split
            let events = split_events(Protocol::EventPlatform, &body).expect("splits");
            // THEN it is one event, the body without its trailing newline
            assert_eq!(events.len(), 1, "{file}");
            let text = std::str::from_utf8(&body).expect("utf-8");
            assert_eq!(events[0].raw, text.trim(), "{file}");
        }
    }

    #[test]
    fn every_event_platform_fixture_lifts_id_type_time_and_subscription() {
        for file in fixture_files("event-platform") {
            // GIVEN one CloudEvent
            let body = fixture(&file);
            // WHEN it is split
            let events = split_events(Protocol::EventPlatform, &body).expect("splits");
            // THEN its id, type, time and subject are lifted
            let value: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            let fields = &events[0].fields;
            assert_eq!(fields.id.as_deref(), value["id"].as_str());
            assert_eq!(fields.kind.as_deref(), value["type"].as_str());
            assert_eq!(fields.occurred_at.as_deref(), value["time"].as_str());
            assert_eq!(fields.source.as_deref(), value["subject"].as_str());
            assert!(
                fields
                    .kind
                    .as_deref()
                    .is_some_and(|k| k.starts_with("com.akeneo.pim.v1."))
            );
        }
    }

    #[test]
    fn the_event_platform_route_accepts_an_array_of_events() {
        // GIVEN two CloudEvents in one JSON array
        let one = fixture("event-platform/product.created.json");
        let two = fixture("event-platform/product.deleted.json");
        let one = std::str::from_utf8(&one).expect("utf-8").trim();
        let two = std::str::from_utf8(&two).expect("utf-8").trim();
        let body = format!("[{one},\n {two}]");
        // WHEN the body is split
        let events = split_events(Protocol::EventPlatform, body.as_bytes()).expect("splits");
        // THEN both events come out, byte for byte
        assert_eq!(events.iter().map(|e| e.raw).collect::<Vec<_>>(), [one, two]);
    }

    #[test]
    fn escapes_whitespace_and_key_order_are_kept_in_the_raw_event() {
        // GIVEN an event with escapes, odd spacing and keys out of order
        let raw = r#"{ "pim_source":"https:\/\/x.example" ,"action":"product.updated","event_id":"e\u00e9","data":{"b":1,"a":2} }"#;
        let body = format!(r#"{{"events":[{raw}]}}"#);
        // WHEN the body is split
        let events = split_events(Protocol::EventsApi, body.as_bytes()).expect("splits");
        // THEN the raw event is unchanged and the lifted fields are unescaped
        assert_eq!(events[0].raw, raw);
        assert_eq!(events[0].fields.source.as_deref(), Some("https://x.example"));
        assert_eq!(events[0].fields.id.as_deref(), Some("eé"));
    }

    #[test]
    fn the_old_event_date_is_used_when_event_datetime_is_absent() {
        // GIVEN an event from a very old PIM
        let body = br#"{"events":[{"action":"product.updated","event_date":"2019-01-01T00:00:00+00:00"}]}"#;
        // WHEN it is split
        let events = split_events(Protocol::EventsApi, body).expect("splits");
        // THEN its time comes from event_date
        assert_eq!(
            events[0].fields.occurred_at.as_deref(),
            Some("2019-01-01T00:00:00+00:00")
        );
    }

    #[test]
    fn oddly_typed_or_missing_fields_lift_as_none_and_the_event_is_kept() {
        // GIVEN events whose fields are numbers, arrays, objects, null, or absent
        let body = br#"{"events":[{"event_id":42,"action":["x"],"pim_source":{"url":"y"},"event_datetime":null},{}]}"#;
        // WHEN the body is split
        let events = split_events(Protocol::EventsApi, body).expect("splits");
        // THEN both events are kept, with nothing lifted
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.fields == EventFields::default()));
    }

    #[test]
    fn a_cloudevent_without_the_usual_fields_is_kept() {
        // GIVEN a CloudEvent with only its spec version
        // WHEN it is split
        let events = split_events(Protocol::EventPlatform, br#"{"specversion":"1.0"}"#).expect("splits");
        // THEN it is one event with nothing lifted
        assert_eq!(events[0].fields, EventFields::default());
    }

    #[test]
    fn bodies_that_are_not_json_are_refused_as_such() {
        // GIVEN bodies that are not (one) JSON document
        let cases: [(Protocol, &[u8]); 6] = [
            (Protocol::EventsApi, b"not json"),
            (Protocol::EventsApi, br#"{"events":[{"a":1}"#),
            (Protocol::EventsApi, br#"{"events":[]} trailing"#),
            (Protocol::EventsApi, b"\xff\xfe"),
            (Protocol::EventsApi, b"{\"events\":[\"a\"],\"x\":\"\xdd\"}"),
            (Protocol::EventPlatform, b""),
        ];
        for (protocol, body) in cases {
            // WHEN one is split
            // THEN it is not JSON
            assert_eq!(
                split_events(protocol, body),
                Err(BodyError::NotJson),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn json_of_another_shape_is_refused_as_not_the_envelope() {
        // GIVEN JSON that is not the protocol's envelope
        let cases: [(Protocol, &[u8], &str); 9] = [
            (Protocol::EventsApi, br#"{"event":[]}"#, EVENTS_API_SHAPE),
            (Protocol::EventsApi, b"18e322", EVENTS_API_SHAPE),
            (Protocol::EventsApi, br#"[[{"event_id":"e"}]]"#, EVENTS_API_SHAPE),
            (Protocol::EventsApi, br#"[[[]],21]"#, EVENTS_API_SHAPE),
            (Protocol::EventsApi, br#"{"events":{}}"#, EVENTS_API_SHAPE),
            (Protocol::EventsApi, br#"{"events":[1]}"#, EVENTS_API_SHAPE),
            (Protocol::EventsApi, br#"[]"#, EVENTS_API_SHAPE),
            (Protocol::EventPlatform, b"\"text\"", EVENT_PLATFORM_SHAPE),
            (Protocol::EventPlatform, b"[{}, 3]", EVENT_PLATFORM_SHAPE),
        ];
        for (protocol, body, shape) in cases {
            // WHEN one is split
            // THEN it is refused as not the envelope
            assert_eq!(
                split_events(protocol, body),
                Err(BodyError::NotEnvelope(shape)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_lone_surrogate_escape_lifts_with_a_replacement_character_and_the_event_is_kept() {
        // GIVEN a CloudEvent whose id holds a lone surrogate escape (valid JSON)
        let body = br#"{"id":"a\ud800b","type":"t"}"#;
        // WHEN it is split
        let events = split_events(Protocol::EventPlatform, body).expect("splits");
        // THEN it is kept byte for byte and its id is lifted with U+FFFD for each byte of the surrogate
        assert_eq!(events[0].raw.as_bytes(), body);
        assert_eq!(events[0].fields.id.as_deref(), Some("a\u{FFFD}\u{FFFD}\u{FFFD}b"));
    }

    #[test]
    fn a_key_with_a_lone_surrogate_escape_is_valid_json_and_the_event_is_kept() {
        // GIVEN a CloudEvent with an unknown key holding a lone surrogate escape (a fuzzing find)
        let body = br#"{"x\udc8e":"y","id":"e-1"}"#;
        // WHEN it is split
        let events = split_events(Protocol::EventPlatform, body).expect("splits");
        // THEN it is kept byte for byte and its id still lifted
        assert_eq!(events[0].raw.as_bytes(), body);
        assert_eq!(events[0].fields.id.as_deref(), Some("e-1"));
    }

    #[test]
    fn a_key_with_raw_control_characters_is_not_json() {
        // GIVEN an envelope whose key holds raw NUL bytes (a fuzzing find)
        // WHEN it is split
        // THEN it is refused as not JSON
        let body = b"{\"events\":[],\"ev\x00ts\":[]}";
        assert_eq!(split_events(Protocol::EventsApi, body), Err(BodyError::NotJson));
    }

    #[test]
    fn an_escaped_key_is_matched_by_its_value() {
        // GIVEN an Events API envelope whose "events" key is written with an escape
        let body = br#"{"\u0065vents":[{"event_id":"e-1"}]}"#;
        // WHEN it is split
        let events = split_events(Protocol::EventsApi, body).expect("splits");
        // THEN the key is "events" all the same
        assert_eq!(events[0].fields.id.as_deref(), Some("e-1"));
    }

    #[test]
    fn an_empty_event_list_is_valid_and_splits_into_nothing() {
        // GIVEN empty event lists of both protocols
        // WHEN they are split
        // THEN there are no events and no error
        assert_eq!(split_events(Protocol::EventsApi, br#"{"events":[]}"#), Ok(vec![]));
        assert_eq!(split_events(Protocol::EventPlatform, b" [ ] "), Ok(vec![]));
    }
}
