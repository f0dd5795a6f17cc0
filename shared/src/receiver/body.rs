//! Splits a verified body into its events without re-serialising them: each event
//! is kept as the exact slice of the body it came from.

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::Protocol;

/// One event of a request: its bytes as received and the fields lifted from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingEvent<'a> {
    pub raw: &'a str,
    pub fields: EventFields,
}

/// The fields the queue envelope lifts out of an event, `None` where the event
/// lacks them or has them as something other than a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub occurred_at: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is not valid JSON")]
    NotJson,
    #[error("the body is not {0}")]
    NotEnvelope(&'static str),
}

pub fn split_events(protocol: Protocol, body: &[u8]) -> Result<Vec<IncomingEvent<'_>>, BodyError> {
    match protocol {
        Protocol::EventsApi => split_events_api(body),
        Protocol::EventPlatform => split_event_platform(body),
    }
}

const EVENTS_API_SHAPE: &str = r#"an Events API envelope {"events":[{...}]}"#;
const EVENT_PLATFORM_SHAPE: &str = "a CloudEvent object or an array of them";

fn split_events_api(body: &[u8]) -> Result<Vec<IncomingEvent<'_>>, BodyError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        events: Vec<&'a RawValue>,
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| classify(e, EVENTS_API_SHAPE))?;
    envelope
        .events
        .into_iter()
        .map(|raw| {
            let lifted: EventsApiFields = lift(raw, EVENTS_API_SHAPE)?;
            Ok(IncomingEvent {
                raw: raw.get(),
                fields: EventFields {
                    id: lifted.event_id.0,
                    kind: lifted.action.0,
                    occurred_at: lifted.event_datetime.0.or(lifted.event_date.0),
                    source: lifted.pim_source.0,
                },
            })
        })
        .collect()
}

fn split_event_platform(body: &[u8]) -> Result<Vec<IncomingEvent<'_>>, BodyError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let raws: Vec<&RawValue> = if first == Some(&b'[') {
        serde_json::from_slice(body).map_err(|e| classify(e, EVENT_PLATFORM_SHAPE))?
    } else {
        vec![serde_json::from_slice(body).map_err(|e| classify(e, EVENT_PLATFORM_SHAPE))?]
    };
    raws.into_iter()
        .map(|raw| {
            let lifted: CloudEventFields = lift(raw, EVENT_PLATFORM_SHAPE)?;
            Ok(IncomingEvent {
                raw: raw.get(),
                fields: EventFields {
                    id: lifted.id.0,
                    kind: lifted.r#type.0,
                    occurred_at: lifted.time.0,
                    source: lifted.subject.0,
                },
            })
        })
        .collect()
}

fn lift<'de, T: Deserialize<'de>>(raw: &'de RawValue, shape: &'static str) -> Result<T, BodyError> {
    if !raw.get().starts_with('{') {
        return Err(BodyError::NotEnvelope(shape));
    }
    serde_json::from_str(raw.get()).map_err(|e| classify(e, shape))
}

fn classify(error: serde_json::Error, shape: &'static str) -> BodyError {
    match error.classify() {
        serde_json::error::Category::Data => BodyError::NotEnvelope(shape),
        _ => BodyError::NotJson,
    }
}

#[derive(Deserialize)]
struct EventsApiFields {
    #[serde(default)]
    event_id: Text,
    #[serde(default)]
    action: Text,
    #[serde(default)]
    event_datetime: Text,
    #[serde(default)]
    event_date: Text,
    #[serde(default)]
    pim_source: Text,
}

#[derive(Deserialize)]
struct CloudEventFields {
    #[serde(default)]
    id: Text,
    #[serde(default)]
    r#type: Text,
    #[serde(default)]
    time: Text,
    #[serde(default)]
    subject: Text,
}

/// A string field, or nothing: a signed event with an odd field is still
/// forwarded, so a wrong type lifts as null instead of refusing the request.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
        Ok(Text(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
        Ok(Text(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
        Ok(Text(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
        Ok(Text(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fixture, fixtures_dir};

    fn fixture_files(folder: &str) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(fixtures_dir().join(folder))
            .unwrap()
            .map(|entry| format!("{folder}/{}", entry.unwrap().file_name().to_string_lossy()))
            .collect();
        files.sort();
        assert!(files.len() >= 6, "fixtures missing in {folder}");
        files
    }

    /// The raw event must be a sub-slice of the body: same bytes, same place.
    fn assert_slice_of(raw: &str, body: &[u8]) {
        let start = raw.as_ptr() as usize - body.as_ptr() as usize;
        assert_eq!(&body[start..start + raw.len()], raw.as_bytes());
    }

    #[test]
    fn every_events_api_fixture_splits_into_exact_slices_with_lifted_fields() {
        for file in fixture_files("events-api") {
            let body = fixture(&file);
            let events = split_events(Protocol::EventsApi, &body).unwrap();
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let expected = parsed["events"].as_array().unwrap();
            assert_eq!(events.len(), expected.len(), "{file}");
            for (event, value) in events.iter().zip(expected) {
                assert_slice_of(event.raw, &body);
                assert_eq!(
                    &serde_json::from_str::<serde_json::Value>(event.raw).unwrap(),
                    value
                );
                assert_eq!(event.fields.id.as_deref(), value["event_id"].as_str(), "{file}");
                assert_eq!(event.fields.kind.as_deref(), value["action"].as_str());
                assert_eq!(
                    event.fields.occurred_at.as_deref(),
                    value["event_datetime"].as_str()
                );
                assert_eq!(event.fields.source.as_deref(), value["pim_source"].as_str());
                assert!(event.fields.id.is_some() && event.fields.kind.is_some());
            }
        }
    }

    #[test]
    fn every_event_platform_fixture_is_one_event_whose_bytes_are_the_trimmed_body() {
        for file in fixture_files("event-platform") {
            let body = fixture(&file);
            let events = split_events(Protocol::EventPlatform, &body).unwrap();
            assert_eq!(events.len(), 1, "{file}");
            let text = std::str::from_utf8(&body).unwrap();
            assert_eq!(events[0].raw, text.trim(), "{file}");
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let fields = &events[0].fields;
            assert_eq!(fields.id.as_deref(), value["id"].as_str());
            assert_eq!(fields.kind.as_deref(), value["type"].as_str());
            assert_eq!(fields.occurred_at.as_deref(), value["time"].as_str());
            assert_eq!(fields.source.as_deref(), value["subject"].as_str());
            assert!(fields.kind.as_deref().unwrap().starts_with("com.akeneo.pim.v1."));
        }
    }

    #[test]
    fn event_platform_accepts_an_array_of_events() {
        let one = fixture("event-platform/product.created.json");
        let two = fixture("event-platform/product.deleted.json");
        let one = std::str::from_utf8(&one).unwrap().trim();
        let two = std::str::from_utf8(&two).unwrap().trim();
        let body = format!("[{one},\n {two}]");
        let events = split_events(Protocol::EventPlatform, body.as_bytes()).unwrap();
        assert_eq!(events.iter().map(|e| e.raw).collect::<Vec<_>>(), [one, two]);
    }

    #[test]
    fn escapes_whitespace_and_key_order_are_kept_in_the_raw_event() {
        let raw = r#"{ "pim_source":"https:\/\/x.example" ,"action":"product.updated","event_id":"e\u00e9","data":{"b":1,"a":2} }"#;
        let body = format!(r#"{{"events":[{raw}]}}"#);
        let events = split_events(Protocol::EventsApi, body.as_bytes()).unwrap();
        assert_eq!(events[0].raw, raw);
        assert_eq!(events[0].fields.source.as_deref(), Some("https://x.example"));
        assert_eq!(events[0].fields.id.as_deref(), Some("eé"));
    }

    #[test]
    fn old_event_date_is_used_when_event_datetime_is_absent() {
        let body = br#"{"events":[{"action":"product.updated","event_date":"2019-01-01T00:00:00+00:00"}]}"#;
        let events = split_events(Protocol::EventsApi, body).unwrap();
        assert_eq!(
            events[0].fields.occurred_at.as_deref(),
            Some("2019-01-01T00:00:00+00:00")
        );
    }

    #[test]
    fn missing_or_oddly_typed_fields_lift_as_none_and_the_event_is_kept() {
        let body = br#"{"events":[{"event_id":42,"action":["x"],"pim_source":{"url":"y"},"event_datetime":null},{}]}"#;
        let events = split_events(Protocol::EventsApi, body).unwrap();
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.fields == EventFields::default()));
        let events = split_events(Protocol::EventPlatform, br#"{"specversion":"1.0"}"#).unwrap();
        assert_eq!(events[0].fields, EventFields::default());
    }

    #[test]
    fn bodies_that_are_not_json_or_not_the_envelope_are_refused() {
        use BodyError::*;
        let cases: [(Protocol, &[u8], BodyError); 11] = [
            (Protocol::EventsApi, b"not json", NotJson),
            (Protocol::EventsApi, br#"{"events":[{"a":1}"#, NotJson),
            (Protocol::EventsApi, br#"{"events":[]} trailing"#, NotJson),
            (Protocol::EventsApi, b"\xff\xfe", NotJson),
            (
                Protocol::EventsApi,
                br#"{"event":[]}"#,
                NotEnvelope(EVENTS_API_SHAPE),
            ),
            (
                Protocol::EventsApi,
                br#"{"events":{}}"#,
                NotEnvelope(EVENTS_API_SHAPE),
            ),
            (
                Protocol::EventsApi,
                br#"{"events":[1]}"#,
                NotEnvelope(EVENTS_API_SHAPE),
            ),
            (Protocol::EventsApi, br#"[]"#, NotEnvelope(EVENTS_API_SHAPE)),
            (Protocol::EventPlatform, b"", NotJson),
            (
                Protocol::EventPlatform,
                b"\"text\"",
                NotEnvelope(EVENT_PLATFORM_SHAPE),
            ),
            (
                Protocol::EventPlatform,
                b"[{}, 3]",
                NotEnvelope(EVENT_PLATFORM_SHAPE),
            ),
        ];
        for (protocol, body, expected) in cases {
            assert_eq!(
                split_events(protocol, body),
                Err(expected),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn an_empty_event_list_is_valid_and_queues_nothing() {
        assert_eq!(split_events(Protocol::EventsApi, br#"{"events":[]}"#), Ok(vec![]));
        assert_eq!(split_events(Protocol::EventPlatform, b" [ ] "), Ok(vec![]));
    }
}
