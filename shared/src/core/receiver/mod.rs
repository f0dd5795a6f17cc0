//! The receiver: route, verify, split, queue, answer. Transport-free: the
//! Function URL edge and the local HTTP edge hand it a method, path, headers and
//! the raw body bytes.

pub mod notifications;
pub mod rejection;
/// Which protocol a path serves.
pub mod route;
pub mod secret_store;
pub mod secrets;
pub mod tenant_source;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};
use tokio::time::Instant;
use tracing::{Instrument, info, info_span, warn};

use crate::core::body::split_events;
use crate::core::delivery::deliver_all;
use crate::core::delivery::offload::{Offloaded, offload};
use crate::core::message::{KeyPrefix, OutboundMessage, SQS_MAX_MESSAGE_BYTES, format_timestamp};
use crate::core::protocol::Protocol;
use crate::core::signature::{Secrets, SignatureError, event_platform, events_api};
use crate::core::tenant;
use crate::observability::metrics::{self, Metrics};
use crate::ports::payload_store::PayloadStore;
use crate::ports::queue::QueueSender;
pub use rejection::Rejection;
pub use secret_store::SecretStore;
pub use secrets::RouteSecrets;

/// What to send back. `body` is `None` for `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// A small JSON body.
    pub body: Option<String>,
}

/// The receiver: verifies each request with its route's secrets, splits it
/// into events and queues them on `Q` (large ones through the payload store)
/// before answering.
pub struct Receiver<Q> {
    secrets: SecretStore,
    tolerance_secs: u64,
    queue: Q,
    max_message_bytes: usize,
    large_events: Option<LargeEvents>,
    metrics: Metrics,
}

/// Where events too large for one queue message go: their message body is
/// stored under `key_prefix` and a pointer is queued instead.
#[derive(Clone)]
pub struct LargeEvents {
    /// Where the bodies go.
    pub store: Arc<dyn PayloadStore>,
    /// The prefix of their keys.
    pub key_prefix: KeyPrefix,
}

/// A verified request's events as queue messages, split by whether one queue
/// message can carry them.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Messages that fit the queue.
    pub messages: Vec<OutboundMessage>,
    /// Over the queue's message size: stored and pointed to when the receiver
    /// has a payload store, refused (413) when it has none.
    pub oversized: Vec<OutboundMessage>,
    /// Events in the request.
    pub events: usize,
}

/// How a request ended, for its log line.
struct Handled {
    reply: Reply,
    protocol: Option<Protocol>,
    events: usize,
    error: Option<&'static str>,
}

impl<Q: QueueSender> Receiver<Q> {
    /// Events go to `queue`, signatures are checked against `secrets`, and an
    /// Events API timestamp may be `events_api_tolerance_secs` away from now.
    pub fn new(queue: Q, secrets: SecretStore, events_api_tolerance_secs: u64) -> Receiver<Q> {
        Receiver {
            secrets,
            tolerance_secs: events_api_tolerance_secs,
            queue,
            max_message_bytes: SQS_MAX_MESSAGE_BYTES,
            large_events: None,
            metrics: Metrics::disabled(),
        }
    }

    /// Emits request counts (`EventsReceived`, `EventsQueued`, ...) to
    /// `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Receiver<Q> {
        self.metrics = metrics;
        self
    }

    /// Events whose queue message would be over `bytes` (as SQS counts it) are
    /// too large for the queue: for queues created with a smaller maximum than
    /// SQS's 1 MiB, the default.
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Receiver<Q> {
        self.max_message_bytes = bytes.min(SQS_MAX_MESSAGE_BYTES);
        self
    }

    /// Stores events too large for the queue and queues a pointer instead;
    /// without a store they are refused with 413.
    pub fn with_large_events(mut self, large_events: LargeEvents) -> Receiver<Q> {
        self.large_events = Some(large_events);
        self
    }

    /// The queue events go to.
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// Handles one request and writes its one log line. `now` is the wall clock
    /// used for the Events API timestamp check and `received_at`.
    pub async fn handle(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Reply {
        let started = Instant::now();
        let span = info_span!("request", %method, path = %truncate(path, 64));
        async {
            let handled = self.process(method, path, headers, body, now, started).await;
            info!(
                route = handled.protocol.map(Protocol::as_str),
                tenant = tenant::split_path(path)
                    .0
                    .map(|t| truncate(t, tenant::MAX_NAME_LEN)),
                status = handled.reply.status.as_u16(),
                events = handled.events,
                error = handled.error,
                duration_ms = elapsed_ms(started),
                "request handled"
            );
            handled.reply
        }
        .instrument(span)
        .await
    }

    async fn process(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        started: Instant,
    ) -> Handled {
        let (tenant, path) = tenant::split_path(path);
        let all = self.secrets.current();
        let routes = match tenant {
            None => all.as_ref(),
            Some(name) => match all.tenant(name) {
                Some(routes) => routes,
                None => return self.unknown_tenant(name),
            },
        };
        if crate::core::notification::is_notifications_path(path) {
            return self
                .notification(tenant, routes, method, headers, body, now)
                .await;
        }
        let Some(protocol) = route::resolve(path) else {
            return rejected(None, Rejection::NotFound, 0);
        };
        let secrets = routes.for_protocol(protocol);
        if secrets.is_empty() {
            self.secrets.route_not_configured();
            return rejected(Some(protocol), Rejection::RouteNotConfigured(protocol), 0);
        }
        match *method {
            Method::POST => {}
            Method::HEAD => return answered(protocol, StatusCode::OK, None, 0),
            Method::GET => {
                let status = format!(r#"{{"status":"ok","route":"{protocol}"}}"#);
                return answered(protocol, StatusCode::OK, Some(status), 0);
            }
            _ => return rejected(Some(protocol), Rejection::MethodNotAllowed, 0),
        }

        let prepared = match self.prepare_with(tenant, secrets, protocol, headers, body, now) {
            Ok(prepared) => prepared,
            Err(rejection) => {
                if matches!(rejection, Rejection::Unauthorized(_)) {
                    self.count(protocol, tenant, None, &[("SignatureFailures", 1)]);
                }
                return rejected(Some(protocol), rejection, 0);
            }
        };
        self.count_received(protocol, tenant, &prepared);
        let Prepared {
            messages,
            oversized,
            events,
        } = prepared;
        let deadline = started + protocol.queue_budget();
        let (small, large) = futures::join!(
            deliver_all(&self.queue, &messages, deadline),
            self.store_and_point(protocol, tenant, &oversized, deadline)
        );

        let mut queued = 0;
        match small {
            Ok(message_ids) => {
                self.count(
                    protocol,
                    tenant,
                    None,
                    &[("EventsQueued", message_ids.len() as u64)],
                );
                for (message, message_id) in messages.iter().zip(&message_ids) {
                    info!(
                        event_id = message.event_id.as_deref(),
                        event_type = message.event_type.as_deref(),
                        message_id = message_id.as_str(),
                        "event queued"
                    );
                }
                queued += message_ids.len();
            }
            Err(error) => {
                self.count(
                    protocol,
                    tenant,
                    None,
                    &[("QueueFailures", error.undelivered as u64)],
                );
                warn!(route = protocol.as_str(), reason = %error, "events not queued");
                return rejected(Some(protocol), error.into(), events);
            }
        }
        match large {
            Ok(pointed) => queued += pointed,
            Err(rejection) => return rejected(Some(protocol), rejection, events),
        }
        answered(protocol, StatusCode::OK, Some(queued_body(queued)), events)
    }

    /// Stores each event too large for the queue and queues its pointer, both
    /// by `deadline`; answers how many were pointed to. Without a store, the
    /// first of them is refused as too large (the others of the request are
    /// queued all the same).
    async fn store_and_point(
        &self,
        protocol: Protocol,
        tenant: Option<&str>,
        oversized: &[OutboundMessage],
        deadline: Instant,
    ) -> Result<usize, Rejection> {
        let Some(first) = oversized.first() else {
            return Ok(0);
        };
        let Some(large_events) = &self.large_events else {
            for message in oversized {
                warn!(
                    route = protocol.as_str(),
                    event_id = message.event_id.as_deref(),
                    event_type = message.event_type.as_deref(),
                    bytes = message.sqs_size(),
                    "event too large for the queue and no payload store, not queued"
                );
            }
            return Err(Rejection::EventTooLarge {
                event_id: first.event_id.clone(),
                bytes: first.sqs_size(),
                limit: self.max_message_bytes,
            });
        };
        // The pointers still have to reach the queue after the bodies are stored.
        let store_deadline = deadline
            .checked_sub(protocol.queue_budget() / 4)
            .unwrap_or(deadline);
        let stored = offload(
            large_events.store.as_ref(),
            &large_events.key_prefix,
            oversized,
            store_deadline,
        )
        .await
        .map_err(|error| {
            self.count(
                protocol,
                tenant,
                None,
                &[("PayloadStoreFailures", error.unstored as u64)],
            );
            warn!(route = protocol.as_str(), reason = %error, "large events not stored");
            Rejection::PayloadStoreUnavailable(error)
        })?;
        self.count(
            protocol,
            tenant,
            None,
            &[("LargeEventsStored", stored.len() as u64)],
        );
        let pointers: Vec<OutboundMessage> = stored.iter().map(|s| s.pointer.clone()).collect();
        let message_ids = deliver_all(&self.queue, &pointers, deadline)
            .await
            .map_err(|error| {
                self.count(
                    protocol,
                    tenant,
                    None,
                    &[("QueueFailures", error.undelivered as u64)],
                );
                warn!(route = protocol.as_str(), reason = %error, "pointers to large events not queued");
                Rejection::QueueUnavailable(error)
            })?;
        self.count(
            protocol,
            tenant,
            None,
            &[("EventsQueued", message_ids.len() as u64)],
        );
        for (
            Offloaded {
                pointer,
                location,
                bytes,
            },
            message_id,
        ) in stored.iter().zip(&message_ids)
        {
            info!(
                event_id = pointer.event_id.as_deref(),
                event_type = pointer.event_type.as_deref(),
                message_id = message_id.as_str(),
                stored_bytes = bytes,
                payload = %location,
                "event queued"
            );
        }
        Ok(message_ids.len())
    }

    /// The in-process part of a POST: verify, split and build the queue messages.
    /// No I/O; the benchmark measures exactly this.
    pub fn prepare(
        &self,
        protocol: Protocol,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Prepared, Rejection> {
        let secrets = self.secrets.current();
        self.prepare_with(None, secrets.for_protocol(protocol), protocol, headers, body, now)
    }

    fn prepare_with(
        &self,
        tenant: Option<&str>,
        secrets: &Secrets,
        protocol: Protocol,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Prepared, Rejection> {
        if let Err(error) = self.verify(secrets, protocol, headers, body, now) {
            warn!(route = protocol.as_str(), reason = %error, "signature rejected");
            if error == SignatureError::Mismatch {
                self.secrets.signature_mismatched();
            }
            return Err(error.into());
        }
        if protocol == Protocol::EventsApi && body.is_empty() {
            // The subscription page's Test button: signed, empty, nothing to queue.
            return Ok(Prepared::default());
        }
        let events = split_events(protocol, body)?;
        let received_at = format_timestamp(now);
        let (messages, oversized) = events
            .iter()
            .map(|event| {
                OutboundMessage::build_for_tenant(tenant, protocol, event.raw, &event.fields, &received_at)
            })
            .partition(|message| message.sqs_size() <= self.max_message_bytes);
        Ok(Prepared {
            messages,
            oversized,
            events: events.len(),
        })
    }

    fn verify(
        &self,
        secrets: &Secrets,
        protocol: Protocol,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        let header = |name: &str| headers.get(name).map(|value| value.as_bytes());
        match protocol {
            Protocol::EventsApi => events_api::verify(
                secrets,
                header(events_api::TIMESTAMP_HEADER),
                header(events_api::SIGNATURE_HEADER),
                body,
                unix_seconds(now),
                self.tolerance_secs,
            ),
            Protocol::EventPlatform => event_platform::verify(
                secrets,
                header(event_platform::PRIMARY_HEADER),
                header(event_platform::SECONDARY_HEADER),
                header(event_platform::ALGORITHM_HEADER),
                body,
            ),
            Protocol::CatchUp => Err(SignatureError::Mismatch),
        }
    }
}

impl<Q> Receiver<Q> {
    /// A tenant's counts carry a `Tenant` dimension (only known tenants':
    /// anyone can put a name in a path).
    fn count(
        &self,
        protocol: Protocol,
        tenant: Option<&str>,
        event_type: Option<&str>,
        counts: &[(&'static str, u64)],
    ) {
        let mut dimensions = vec![("Protocol", protocol.as_str())];
        if let Some(tenant) = tenant {
            dimensions.push((metrics::TENANT_DIMENSION, tenant));
        }
        if let Some(event_type) = event_type {
            dimensions.push(("EventType", event_type));
        }
        let record = metrics::Record {
            dimensions,
            counts: counts.to_vec(),
        };
        self.metrics.emit(&record, false);
    }

    /// Events received, by type: usually one type per request.
    fn count_received(&self, protocol: Protocol, tenant: Option<&str>, prepared: &Prepared) {
        let mut by_type: Vec<(&str, u64)> = Vec::new();
        for message in prepared.messages.iter().chain(&prepared.oversized) {
            let event_type = message.event_type.as_deref().unwrap_or("unknown");
            match by_type.iter_mut().find(|(t, _)| *t == event_type) {
                Some((_, count)) => *count += 1,
                None => by_type.push((event_type, 1)),
            }
        }
        for (event_type, count) in by_type {
            self.count(protocol, tenant, Some(event_type), &[("EventsReceived", count)]);
        }
    }
}

impl<Q> Receiver<Q> {
    /// A path naming a tenant this relay does not have: 404 for that
    /// subscription alone, a warn line and `UnknownTenant`. The document is
    /// read again soon, in case the tenant was just added.
    fn unknown_tenant(&self, name: &str) -> Handled {
        self.secrets.route_not_configured();
        warn!(
            tenant = truncate(name, tenant::MAX_NAME_LEN),
            "request for a tenant this relay does not have; answered 404"
        );
        self.metrics.emit(
            &metrics::Record {
                dimensions: vec![],
                counts: vec![("UnknownTenant", 1)],
            },
            false,
        );
        rejected(None, Rejection::UnknownTenant, 0)
    }
}

fn answered(protocol: Protocol, status: StatusCode, body: Option<String>, events: usize) -> Handled {
    Handled {
        reply: Reply { status, body },
        protocol: Some(protocol),
        events,
        error: None,
    }
}

fn rejected(protocol: Option<Protocol>, rejection: Rejection, events: usize) -> Handled {
    // An unknown path has no protocol; 404 is the same for both.
    let status = rejection.status(protocol.unwrap_or(Protocol::EventsApi));
    let body = serde_json::json!({ "error": rejection.code(), "message": rejection.client_message() });
    Handled {
        reply: Reply {
            status,
            body: Some(body.to_string()),
        },
        protocol,
        events,
        error: Some(rejection.code()),
    }
}

fn queued_body(count: usize) -> String {
    format!(r#"{{"queued":{count}}}"#)
}

fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    let elapsed: Duration = started.elapsed();
    (elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

#[cfg(test)]
mod tenant_tests;
#[cfg(test)]
mod tests;
