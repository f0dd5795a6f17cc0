//! The document every destination carries (EventBridge's `detail`, the
//! forwarded webhook's body), version 1. Its fields are a public contract
//! (docs/src/contracts.md, "The event document"): a field is added, never renamed or removed,
//! within a version.
//!
//! The event itself is embedded as Akeneo sent it, byte for byte; so is the
//! current product. When the whole does not fit the destination's limit, the
//! current product is left out first (a consumer can read the PIM), then the
//! event is replaced by a pointer to its stored copy when there is one.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::core::event::{Action, Current, PimEvent};
use crate::core::message::PayloadLocation;
use crate::observability::logs::rfc3339;

/// The `version` field of this document.
pub const DETAIL_VERSION: u32 = 1;

/// EventBridge's `source` of every entry the relay publishes.
pub const SOURCE: &str = "akeneo.pim";

/// `<entity>.<action>`, the same for both protocols: an Events API
/// `product_model.removed` and an Event Platform
/// `com.akeneo.pim.v1.product-model.deleted` are both `product-model.deleted`,
/// so one rule catches either.
pub fn detail_type(event: &PimEvent) -> String {
    let action = match &event.action {
        Action::Created => "created",
        Action::Updated => "updated",
        Action::Deleted => "deleted",
        Action::Other(other) => other.as_str(),
    };
    match (event.entity.name(), action) {
        ("", "") => "unknown".to_owned(),
        // An unclassified type is kept whole in both (see `classify`).
        (entity, action) if entity == action => entity.to_owned(),
        (entity, action) => format!("{entity}.{action}"),
    }
}

/// Why an event cannot be carried at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the event is {bytes} bytes as a document, over the destination's {limit}, and has no stored copy to point to"
)]
pub struct TooLarge {
    /// The size of its smallest form, in bytes.
    pub bytes: usize,
    /// The destination's limit, in bytes.
    pub limit: usize,
}

/// The document for `event`, at most `limit` bytes: whole if it fits; else
/// without the current product (`current_state` `omitted`); else, for an
/// event the receiver stored (`stored_at`), with a pointer in place of the
/// event.
pub fn detail(
    event: &PimEvent,
    stored_at: Option<&PayloadLocation>,
    limit: usize,
) -> Result<String, TooLarge> {
    let mut document = Document::of(event);
    let whole = document.to_json();
    if whole.len() <= limit {
        return Ok(whole);
    }
    document.omit_current();
    let without_current = document.to_json();
    if without_current.len() <= limit {
        return Ok(without_current);
    }
    let Some(location) = stored_at else {
        return Err(TooLarge {
            bytes: without_current.len(),
            limit,
        });
    };
    document.point_to(location);
    let pointer = document.to_json();
    if pointer.len() <= limit {
        return Ok(pointer);
    }
    Err(TooLarge {
        bytes: pointer.len(),
        limit,
    })
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    #[serde(rename = "type")]
    kind: String,
    protocol: &'static str,
    /// Only for a tenant's event: a single-PIM deployment's document is as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    event_id: Option<&'a str>,
    event_type: Option<&'a str>,
    occurred_at: Option<String>,
    pim: Option<&'a str>,
    subscription: Option<&'a str>,
    author: Option<Author<'a>>,
    keys: Keys<'a>,
    stale: bool,
    event: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_pointer: Option<Pointer<'a>>,
    current: Option<&'a RawValue>,
    current_state: &'static str,
}

#[derive(Serialize)]
struct Author<'a> {
    identifier: &'a str,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
}

#[derive(Serialize)]
struct Keys<'a> {
    uuid: Option<&'a str>,
    identifier: Option<&'a str>,
    code: Option<&'a str>,
}

#[derive(Serialize)]
struct Pointer<'a> {
    s3_bucket: &'a str,
    s3_key: &'a str,
}

impl<'a> Document<'a> {
    fn of(event: &'a PimEvent) -> Document<'a> {
        let (pim, subscription) = match &event.origin {
            crate::core::event::Origin::Pim(url) => (Some(url.as_str()), None),
            crate::core::event::Origin::Subscription(id) => (None, Some(id.as_str())),
            crate::core::event::Origin::Unknown => (None, None),
        };
        let (current, current_state) = match &event.current {
            Some(Current::Found(raw)) => (Some(raw.as_ref()), "found"),
            Some(Current::Gone) => (None, "gone"),
            None => (None, "not_read"),
        };
        Document {
            version: DETAIL_VERSION,
            kind: detail_type(event),
            protocol: event.protocol.as_str(),
            tenant: event.tenant.as_deref(),
            event_id: event.id.as_deref(),
            event_type: event.event_type.as_deref(),
            occurred_at: event.occurred_at.map(rfc3339),
            pim,
            subscription,
            author: event.author.as_ref().map(|author| Author {
                identifier: &author.identifier,
                kind: author.kind.as_deref(),
            }),
            keys: Keys {
                uuid: event.keys.uuid.as_deref(),
                identifier: event.keys.identifier.as_deref(),
                code: event.keys.code.as_deref(),
            },
            stale: event.is_stale(),
            event: Some(&event.raw),
            event_pointer: None,
            current,
            current_state,
        }
    }

    fn omit_current(&mut self) {
        if self.current.is_some() {
            self.current = None;
            self.current_state = "omitted";
        }
    }

    fn point_to(&mut self, location: &'a PayloadLocation) {
        self.event = None;
        self.event_pointer = Some(Pointer {
            s3_bucket: &location.bucket,
            s3_key: &location.key,
        });
    }

    fn to_json(&self) -> String {
        // Every field is a string, a number, a bool or JSON already checked
        // by serde: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
