//! From the envelope's lifted fields and raw event to [`PimEvent`]: which entity,
//! which action, which keys, who, from where.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Action, Author, Current, Entity, EntityKeys, Origin, PimEvent};
use crate::core::message::Envelope;
use crate::core::protocol::Protocol;

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

/// The relay's catch-up document (see [`crate::core::catch_up::event`]).
#[derive(Deserialize, Default)]
struct CatchUpDocument<'a> {
    #[serde(default, borrow)]
    product: Option<&'a RawValue>,
    #[serde(default, borrow)]
    product_model: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct RawAuthor {
    #[serde(default)]
    identifier: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<serde_json::Value>,
}

impl PimEvent {
    /// Only the envelope must be well formed: an event whose fields are missing
    /// or oddly typed still maps, with `None` where needed.
    pub fn from_envelope(envelope: Envelope) -> PimEvent {
        let protocol = envelope.protocol;
        let (entity, action) = classify(protocol, envelope.kind.as_deref());
        let mut current = None;
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
            Protocol::CatchUp => {
                let document: CatchUpDocument =
                    serde_json::from_str(envelope.event.get()).unwrap_or_default();
                let item = document.product.or(document.product_model);
                let keys = item
                    .and_then(|raw| serde_json::from_str::<RawKeys>(raw.get()).ok())
                    .unwrap_or_default()
                    .into_keys();
                // The catch-up read the entity moments ago: that read is its
                // current state, and enrichment need not read it again.
                current = item.map(|raw| Current::Found(Arc::from(raw.to_owned())));
                (keys, None, envelope.source.map_or(Origin::Unknown, Origin::Pim))
            }
        };

        PimEvent {
            id: envelope.id,
            tenant: envelope.tenant,
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
            stale: None,
            current,
            stored_at: None,
        }
    }
}

/// Splits a type into entity and action. Events API: `product_model.removed`.
/// Event Platform: `com.akeneo.pim.v1.product-model.deleted`. Anything else is
/// kept whole as a catch-all, never an error.
fn classify(protocol: Protocol, kind: Option<&str>) -> (Entity, Action) {
    let Some(kind) = kind else {
        return (Entity::Other(String::new()), Action::Other(String::new()));
    };
    let short = match protocol {
        Protocol::EventsApi | Protocol::CatchUp => Some(kind),
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
