//! Queue envelope (`v: 1`) to [`PimEvent`].

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Action, Author, Entity, EntityKeys, Origin, PimEvent};
use crate::Protocol;
use crate::queue::message::ENVELOPE_VERSION;

/// A message that cannot become a [`PimEvent`]: permanent, as no retry will
/// change its body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the message body is not a relay envelope: {0}")]
    Invalid(String),
    #[error("envelope version {0} is not supported (this processor reads version {ENVELOPE_VERSION})")]
    UnsupportedVersion(u64),
}

impl EnvelopeError {
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Invalid(_) => "invalid_envelope",
            EnvelopeError::UnsupportedVersion(_) => "unsupported_version",
        }
    }
}

#[derive(Deserialize)]
struct Version {
    v: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope {
    protocol: String,
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    occurred_at: Option<String>,
    source: Option<String>,
    received_at: Option<String>,
    event: Box<RawValue>,
}

#[derive(Deserialize, Default)]
struct RawKeys {
    #[serde(default)]
    uuid: Option<serde_json::Value>,
    #[serde(default)]
    identifier: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

impl RawKeys {
    fn into_keys(self) -> EntityKeys {
        EntityKeys {
            uuid: text(self.uuid),
            identifier: text(self.identifier),
            code: text(self.code),
        }
    }
}

#[derive(Deserialize, Default)]
struct EventsApiEvent {
    #[serde(default)]
    author: Option<serde_json::Value>,
    #[serde(default)]
    author_type: Option<serde_json::Value>,
    #[serde(default)]
    data: Option<EventsApiData>,
}

#[derive(Deserialize, Default)]
struct EventsApiData {
    #[serde(default)]
    resource: Option<RawKeys>,
}

#[derive(Deserialize, Default)]
struct CloudEvent<'a> {
    #[serde(default, borrow)]
    data: Option<HashMap<String, &'a RawValue>>,
}

#[derive(Deserialize, Default)]
struct RawAuthor {
    #[serde(default)]
    identifier: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<serde_json::Value>,
}

/// Parses a queue message body. Only the envelope must be well formed: an event
/// whose fields are missing or oddly typed still maps, with `None` where needed.
pub fn parse_envelope(body: &str) -> Result<PimEvent, EnvelopeError> {
    let invalid = |e: serde_json::Error| EnvelopeError::Invalid(e.to_string());
    let version: Version = serde_json::from_str(body).map_err(invalid)?;
    match version.v {
        Some(v) if v == u64::from(ENVELOPE_VERSION) => {}
        Some(other) => return Err(EnvelopeError::UnsupportedVersion(other)),
        None => return Err(EnvelopeError::Invalid("no version field \"v\"".into())),
    }
    let envelope: Envelope = serde_json::from_str(body).map_err(invalid)?;
    let protocol = Protocol::from_name(&envelope.protocol)
        .ok_or_else(|| EnvelopeError::Invalid(format!("unknown protocol {:?}", envelope.protocol)))?;
    let (entity, action) = classify(protocol, envelope.kind.as_deref());

    let (keys, author, origin) = match protocol {
        Protocol::EventsApi => {
            let event: EventsApiEvent = serde_json::from_str(envelope.event.get()).unwrap_or_default();
            let keys = event
                .data
                .and_then(|d| d.resource)
                .unwrap_or_default()
                .into_keys();
            let author = text(event.author).map(|identifier| Author {
                identifier,
                kind: text(event.author_type),
            });
            (keys, author, envelope.source.map_or(Origin::Unknown, Origin::Pim))
        }
        Protocol::EventPlatform => {
            let event: CloudEvent = serde_json::from_str(envelope.event.get()).unwrap_or_default();
            let data = event.data.unwrap_or_default();
            let keys = entity_object(&data, &entity).unwrap_or_default().into_keys();
            let author = data
                .get("author")
                .and_then(|raw| serde_json::from_str::<RawAuthor>(raw.get()).ok())
                .and_then(|a| {
                    text(a.identifier).map(|identifier| Author {
                        identifier,
                        kind: text(a.kind),
                    })
                });
            (
                keys,
                author,
                envelope.source.map_or(Origin::Unknown, Origin::Subscription),
            )
        }
    };

    Ok(PimEvent {
        id: envelope.id,
        protocol,
        entity,
        action,
        keys,
        event_type: envelope.kind,
        occurred_at: envelope
            .occurred_at
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
        author,
        origin,
        received_at: envelope.received_at,
        raw: envelope.event,
    })
}

/// Splits a type into entity and action. Events API: `product_model.removed`.
/// Event Platform: `com.akeneo.pim.v1.product-model.deleted`. Anything else is
/// kept whole as a catch-all, never an error.
fn classify(protocol: Protocol, kind: Option<&str>) -> (Entity, Action) {
    let Some(kind) = kind else {
        return (Entity::Other(String::new()), Action::Other(String::new()));
    };
    let short = match protocol {
        Protocol::EventsApi => Some(kind),
        Protocol::EventPlatform => kind
            .strip_prefix("com.akeneo.pim.")
            .and_then(|rest| rest.split_once('.'))
            .filter(|(version, _)| {
                version.starts_with('v') && version[1..].bytes().all(|b| b.is_ascii_digit())
            })
            .map(|(_, rest)| rest),
    };
    match short.and_then(|s| s.split_once('.')) {
        Some((entity, action)) if !entity.is_empty() && !action.is_empty() => {
            (Entity::from_name(entity), Action::from_name(action))
        }
        _ => (Entity::Other(kind.to_owned()), Action::Other(kind.to_owned())),
    }
}

/// The object under `data` that describes the entity: `data.product`,
/// `data.product_model`, `data.category`, ... or else the first object that is
/// not the author.
fn entity_object(data: &HashMap<String, &RawValue>, entity: &Entity) -> Option<RawKeys> {
    let named = entity.name().replace('-', "_");
    let raw = data.get(&named).or_else(|| {
        data.iter()
            .filter(|(name, raw)| *name != "author" && raw.get().starts_with('{'))
            .map(|(_, raw)| raw)
            .next()
    })?;
    serde_json::from_str(raw.get()).ok()
}

/// A key as text: strings as they are, numbers written out (some PIMs use numeric
/// codes), anything else absent.
fn text(value: Option<serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
