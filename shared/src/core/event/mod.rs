//! The typed event the business logic receives: one model for both protocols,
//! built from the queue envelope the receiver wrote.

mod from_envelope;

use std::sync::Arc;

use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::core::message::{EnvelopeError, PayloadLocation, read_envelope};
use crate::core::protocol::Protocol;

/// One Akeneo event, whichever protocol delivered it.
///
/// ```
/// use akeneo_event_relay::core::body::split_events;
/// use akeneo_event_relay::core::event::{Action, Entity, Origin};
/// use akeneo_event_relay::core::message::OutboundMessage;
/// use akeneo_event_relay::{PimEvent, Protocol};
///
/// // An Event Platform request's body, as Akeneo sends it...
/// let body = br#"{"specversion":"1.0","id":"018e32f9-dfe4-760e-a273-5da1c089dfdc",
///     "type":"com.akeneo.pim.v1.product.updated","source":"pim",
///     "subject":"019256aa-7f77-7f58-bc8c-770f7e369c5b","time":"2024-02-22T17:31:00Z",
///     "data":{"product":{"uuid":"6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"},
///             "author":{"identifier":"relay_1234","type":"api"}}}"#;
/// // ...queued by the receiver, and read back by the processor.
/// let incoming = &split_events(Protocol::EventPlatform, body)?[0];
/// let queued = OutboundMessage::build(Protocol::EventPlatform, incoming.raw, &incoming.fields, "2024-02-22T17:31:01.000Z");
/// let event = PimEvent::from_message_body(&queued.body)?;
///
/// assert_eq!((&event.entity, &event.action), (&Entity::Product, &Action::Updated));
/// assert_eq!(event.keys.uuid.as_deref(), Some("6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"));
/// assert_eq!(event.author.as_ref().map(|a| a.identifier.as_str()), Some("relay_1234"));
/// assert_eq!(event.origin, Origin::Subscription("019256aa-7f77-7f58-bc8c-770f7e369c5b".into()));
/// assert!(event.occurred_at.is_some() && !event.is_stale());
///
/// // Anything the model leaves out, from the event's JSON as Akeneo sent it.
/// #[derive(serde::Deserialize)]
/// struct CloudEvent {
///     specversion: String,
/// }
/// assert_eq!(event.payload::<CloudEvent>()?.specversion, "1.0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PimEvent {
    /// Akeneo's event id (`event_id` / `id`): the key to dedupe on, as Akeneo
    /// delivers at least once.
    pub id: Option<String>,
    /// The tenant whose route received it (see [`crate::core::tenant`]): which
    /// of the deployment's PIMs it comes from. `None` in a single-PIM
    /// deployment.
    pub tenant: Option<String>,
    /// The protocol that delivered it.
    pub protocol: Protocol,
    /// What it is about.
    pub entity: Entity,
    /// What happened to it.
    pub action: Action,
    /// The entity's keys, as present in the event.
    pub keys: EntityKeys,
    /// The event type exactly as Akeneo named it (`product.updated`,
    /// `com.akeneo.pim.v1.product.updated.delta`, ...).
    pub event_type: Option<String>,
    /// When it happened in the PIM; `None` if absent or not RFC 3339.
    pub occurred_at: Option<OffsetDateTime>,
    /// Who did it.
    pub author: Option<Author>,
    /// Which PIM (Events API) or subscription (Event Platform) sent it.
    pub origin: Origin,
    /// When the receiver queued it (RFC 3339), for latency measurements.
    pub received_at: Option<String>,
    /// The event's JSON exactly as Akeneo sent it, for anything not modelled
    /// (the product's values, a delta's changes, ...).
    pub raw: Box<RawValue>,
    /// Set by the processor when a newer event about the same entity was
    /// already handled (in an earlier batch): this one is out of order. See
    /// [`crate::core::processor::stale::StalePolicy`] for which stale events
    /// reach the business logic.
    pub stale: Option<Stale>,
    /// The product or product model as the PIM has it now, read for the whole
    /// batch before the business logic runs. `None` when enrichment is off,
    /// for deletions, for other entities, and for events that name no uuid
    /// (product) or code (product model).
    pub current: Option<Current>,
    /// Where the receiver stored this event because it was too large for a
    /// queue message (the object holds the queue envelope); set by the
    /// processor. A destination that cannot carry the event whole points
    /// there instead.
    pub stored_at: Option<PayloadLocation>,
}

/// An event older than the newest one already handled about its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    /// When that newer event happened in the PIM.
    pub newer_handled: OffsetDateTime,
}

/// What the PIM's REST API answers for an event's product or product model
/// when the batch is processed.
#[derive(Debug, Clone)]
pub enum Current {
    /// Its REST API representation (`uuid`, `identifier`, `family`, `parent`,
    /// `categories`, `enabled`, `values`, `associations`, `created`,
    /// `updated`, ... for a product), as JSON.
    Found(Arc<RawValue>),
    /// Deleted since the event, or not visible to the connection (a 404, or
    /// absent from a search): an ordinary answer, not an error.
    Gone,
}

impl Current {
    /// The JSON, when found.
    pub fn json(&self) -> Option<&str> {
        match self {
            Current::Found(raw) => Some(raw.get()),
            Current::Gone => None,
        }
    }

    /// Parses it into your own type; `None` when gone.
    pub fn parse<'a, T: serde::Deserialize<'a>>(&'a self) -> Option<Result<T, serde_json::Error>> {
        self.json().map(serde_json::from_str)
    }

    /// Whether the entity is gone from the PIM.
    pub fn is_gone(&self) -> bool {
        matches!(self, Current::Gone)
    }
}

impl PimEvent {
    /// Reads a queue message body into the event it carries.
    pub fn from_message_body(body: &str) -> Result<PimEvent, EnvelopeError> {
        read_envelope(body).map(PimEvent::from_envelope)
    }

    /// Whether a newer event about the same entity was already handled.
    pub fn is_stale(&self) -> bool {
        self.stale.is_some()
    }

    /// The catch-up run that queued it; `None` for Akeneo's own events.
    /// A catch-up event is an update the relay found by reading the PIM
    /// (after a suspension, an outage, or on a schedule), not one Akeneo sent:
    ///
    /// ```
    /// # use akeneo_event_relay::{PimEvent, Protocol};
    /// fn describe(event: &PimEvent) -> &'static str {
    ///     match event.protocol {
    ///         Protocol::CatchUp => "found by a catch-up: `event.current` is the product as read",
    ///         _ => "sent by Akeneo",
    ///     }
    /// }
    /// ```
    pub fn catch_up_run(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Document {
            catch_up: Run,
        }
        #[derive(serde::Deserialize)]
        struct Run {
            run: String,
        }
        if self.protocol != Protocol::CatchUp {
            return None;
        }
        let document: Document = serde_json::from_str(self.raw.get()).ok()?;
        Some(document.catch_up.run)
    }

    /// Parses `raw` into your own type for the fields this model leaves out.
    pub fn payload<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }

    /// Events about the same entity share this key; `None` when the event names
    /// no key. A product is keyed by uuid and by identifier, so the caller can
    /// match events that carry only one of them. A tenant's keys start with
    /// `t/<tenant>/`: two PIMs may both have a product `shirt`.
    pub fn entity_keys(&self) -> Vec<String> {
        let name = self.entity.name();
        let tenant = self
            .tenant
            .as_deref()
            .map(|t| format!("t/{t}/"))
            .unwrap_or_default();
        [
            ("uuid", &self.keys.uuid),
            ("identifier", &self.keys.identifier),
            ("code", &self.keys.code),
        ]
        .into_iter()
        .filter_map(|(kind, value)| {
            value
                .as_deref()
                .map(|value| format!("{tenant}{name}/{kind}/{value}"))
        })
        .collect()
    }
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A product.
    Product,
    /// A product model.
    ProductModel,
    /// Any other Akeneo entity, by its name in the event type (`category`,
    /// `asset`, `reference-entity-record`, ...), or the whole type when it does
    /// not follow Akeneo's naming.
    Other(String),
}

impl Entity {
    fn from_name(name: &str) -> Entity {
        match name {
            "product" => Entity::Product,
            "product_model" | "product-model" => Entity::ProductModel,
            other => Entity::Other(other.to_owned()),
        }
    }

    /// Its name in entity keys and detail types: `product`, `product-model`,
    /// or the other name as given.
    pub fn name(&self) -> &str {
        match self {
            Entity::Product => "product",
            Entity::ProductModel => "product-model",
            Entity::Other(name) => name,
        }
    }
}

/// What happened to the entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// It was created.
    Created,
    /// It was updated.
    Updated,
    /// `removed` (Events API) or `deleted` (Event Platform).
    Deleted,
    /// Anything else, as given: `updated.delta`, `became-complete`, ...
    Other(String),
}

impl Action {
    fn from_name(name: &str) -> Action {
        match name {
            "created" => Action::Created,
            "updated" => Action::Updated,
            "removed" | "deleted" => Action::Deleted,
            other => Action::Other(other.to_owned()),
        }
    }
}

/// The keys an event names its entity by; each `None` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityKeys {
    /// A product's uuid.
    pub uuid: Option<String>,
    /// A product's identifier (its SKU).
    pub identifier: Option<String>,
    /// A product model's (or another entity's) code.
    pub code: Option<String>,
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Username (Events API) or user identifier (Event Platform).
    pub identifier: String,
    /// `ui`, `api`, `system` (Events API); `user`, `api`, `job`, `system`,
    /// `unknown-user-type` (Event Platform).
    pub kind: Option<String>,
}

/// Where an event comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The PIM's URL (`pim_source`), Events API.
    Pim(String),
    /// The subscription id (`subject`), Event Platform.
    Subscription(String),
    /// Neither was given.
    Unknown,
}

#[cfg(test)]
mod tests;
