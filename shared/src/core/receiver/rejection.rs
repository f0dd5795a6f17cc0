//! Every way a request can fail, each with one status and one stable code.

use http::StatusCode;

use crate::core::body::BodyError;
use crate::core::delivery::DeliveryError;
use crate::core::delivery::offload::OffloadError;
use crate::core::protocol::Protocol;
use crate::core::signature::SignatureError;

/// Why a request was not accepted; see [`Rejection::status`] and
/// [`Rejection::code`].
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The path is no route.
    #[error("no route at this path")]
    NotFound,
    /// The path names a tenant the relay does not have.
    #[error("no such tenant")]
    UnknownTenant,
    /// The route has no secret.
    #[error("the {0} route has no secrets configured")]
    RouteNotConfigured(Protocol),
    /// The notification route has no secret.
    #[error("the notification route has no secret configured")]
    NotificationsNotConfigured,
    /// Neither POST, GET nor HEAD.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The signature was refused.
    #[error("signature rejected: {0}")]
    Unauthorized(#[from] SignatureError),
    /// The body is not JSON, or not this protocol's shape.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A notification's body is not one.
    #[error("the notification is not a JSON object with a notification_type")]
    InvalidNotification,
    /// A notification that changes a subscription's state is not recent.
    #[error("the notification's timestamp is missing or too far from now")]
    StaleNotification,
    /// An event is too large for a queue message, and there is no payload
    /// store.
    #[error("event {event_id:?} is {bytes} bytes as a queue message, over the limit of {limit}")]
    EventTooLarge {
        /// Its Akeneo id.
        event_id: Option<String>,
        /// Its size as a queue message.
        bytes: usize,
        /// The queue's limit.
        limit: usize,
    },
    /// The queue did not take every event in time.
    #[error("queue unavailable: {0}")]
    QueueUnavailable(#[from] DeliveryError),
    /// The payload store did not take every large event in time.
    #[error("payload store unavailable: {0}")]
    PayloadStoreUnavailable(#[from] OffloadError),
}

impl Rejection {
    /// The HTTP status: 404, 405, 401, 400, 413, or the protocol's busy status
    /// (503 or 429) when the queue or the store failed.
    pub fn status(&self, protocol: Protocol) -> StatusCode {
        match self {
            Rejection::NotFound
            | Rejection::UnknownTenant
            | Rejection::RouteNotConfigured(_)
            | Rejection::NotificationsNotConfigured => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Unauthorized(_) | Rejection::StaleNotification => StatusCode::UNAUTHORIZED,
            Rejection::Body(_) | Rejection::InvalidNotification => StatusCode::BAD_REQUEST,
            Rejection::EventTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::QueueUnavailable(_) | Rejection::PayloadStoreUnavailable(_) => protocol.busy_status(),
        }
    }

    /// Stable, for clients and log queries.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::UnknownTenant => "unknown_tenant",
            Rejection::RouteNotConfigured(_) | Rejection::NotificationsNotConfigured => {
                "route_not_configured"
            }
            Rejection::MethodNotAllowed => "method_not_allowed",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::Body(BodyError::NotJson) => "invalid_json",
            Rejection::Body(BodyError::NotEnvelope(_)) => "invalid_envelope",
            Rejection::InvalidNotification => "invalid_notification",
            Rejection::StaleNotification => "stale_notification",
            Rejection::EventTooLarge { .. } => "event_too_large",
            Rejection::QueueUnavailable(_) => "queue_unavailable",
            Rejection::PayloadStoreUnavailable(_) => "payload_store_unavailable",
        }
    }

    /// What the client is told: enough to act on, nothing internal. Signature
    /// failures all read the same so a prober learns nothing from the wording.
    pub fn client_message(&self) -> String {
        match self {
            Rejection::NotFound => String::from("no route at this path; use /events-api or /event-platform"),
            Rejection::UnknownTenant => String::from(
                "no tenant of that name on this relay; a tenant's routes are /t/<tenant>/events-api and /t/<tenant>/event-platform",
            ),
            Rejection::RouteNotConfigured(protocol) => {
                format!(
                    "the {} route is not configured on this relay",
                    protocol.display_name()
                )
            }
            Rejection::NotificationsNotConfigured => {
                String::from("the notification route is not configured on this relay")
            }
            Rejection::InvalidNotification => {
                String::from("the body is not a notification (a JSON object with notification_type)")
            }
            Rejection::StaleNotification => String::from(
                "a notification that changes the subscription's state must carry a current RFC 3339 timestamp",
            ),
            Rejection::MethodNotAllowed => {
                String::from("use POST to deliver events, GET or HEAD to check health")
            }
            Rejection::Unauthorized(_) => String::from("missing, invalid or expired signature"),
            Rejection::Body(error) => error.to_string(),
            Rejection::EventTooLarge {
                event_id,
                bytes,
                limit,
            } => format!(
                "event {} is {bytes} bytes as a queue message, over the queue's limit of {limit} bytes, \
                 and this relay has no store for large events; the request's other events were queued",
                event_id.as_deref().unwrap_or("without an id")
            ),
            Rejection::QueueUnavailable(_) => {
                String::from("the queue did not accept every event; retry later")
            }
            Rejection::PayloadStoreUnavailable(_) => {
                String::from("the store for large events did not accept every event; retry later")
            }
        }
    }
}
