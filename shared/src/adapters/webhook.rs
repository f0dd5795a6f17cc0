//! Forwards each event to an HTTPS endpoint (the team's own application),
//! signed the Standard Webhooks way, as the business logic: every step before
//! it holds (duplicates, stale and own events never reach the endpoint), and
//! the processor keeps one entity's events in order. At most `concurrency`
//! requests are in flight from one process; redirects are never followed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Semaphore;
use tracing::warn;

use crate::core::destination::detail::detail;
use crate::core::destination::forward::{EXCERPT_BYTES, outcome_of_answer};
use crate::core::destination::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER, webhook_id,
};
use crate::core::event::PimEvent;
use crate::observability::metrics::{Metrics, Record};
use crate::ports::handler::{EventHandler, Outcome};

/// The largest body sent: a Lambda Function URL, a common endpoint, takes
/// 6 MB; beyond it the event goes as a pointer when it was stored.
pub const BODY_LIMIT_BYTES: usize = 6_000_000;
/// The usual `concurrency` of [`WebhookForwarder::new`]: requests in flight
/// at most, per process (as `FORWARD_CONCURRENCY` defaults to).
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The usual `timeout` of [`WebhookForwarder::new`], for one request (as
/// `FORWARD_TIMEOUT_SECS` defaults to).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a [`WebhookForwarder`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ForwarderError {
    /// The URL is not an http:// or https:// URL.
    #[error("FORWARD_URL must be an http:// or https:// URL")]
    Url,
    /// The HTTP client could not be built (the TLS setup failed).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Forwards each event to an HTTPS endpoint, signed the Standard Webhooks
/// way: the [`EventHandler`] behind `DESTINATION=https` (see the module).
pub struct WebhookForwarder {
    http: reqwest::Client,
    url: reqwest::Url,
    key: SigningKey,
    permits: Semaphore,
    metrics: Metrics,
}

impl WebhookForwarder {
    /// Forwards to `url`, signing with `key`, with at most `concurrency` requests
    /// in flight (at least 1), each within `timeout`. Errors when `url` is not
    /// http(s) or the HTTP client cannot be built.
    pub fn new(
        url: &str,
        key: SigningKey,
        concurrency: usize,
        timeout: Duration,
    ) -> Result<WebhookForwarder, ForwarderError> {
        let url = reqwest::Url::parse(url).map_err(|_| ForwarderError::Url)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ForwarderError::Url);
        }
        // ring, as everywhere in this workspace (an error only means one is
        // installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("akeneo-event-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WebhookForwarder {
            http,
            url,
            key,
            permits: Semaphore::new(concurrency.max(1)),
            metrics: Metrics::disabled(),
        })
    }

    /// Counts each event forwarded (`EventsForwarded`) or not
    /// (`ForwardFailures`) in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> WebhookForwarder {
        self.metrics = metrics;
        self
    }

    /// Counts each event forwarded (`EventsForwarded`) or not
    /// (`ForwardFailures`, retried or dead-lettered).
    fn count(&self, outcome: &Outcome) {
        let done = u64::from(matches!(outcome, Outcome::Done));
        self.metrics.emit(
            &Record {
                dimensions: vec![],
                counts: vec![("EventsForwarded", done), ("ForwardFailures", 1 - done)],
            },
            false,
        );
    }

    async fn forward(&self, event: &PimEvent) -> Outcome {
        let body = match detail(event, event.stored_at.as_ref(), BODY_LIMIT_BYTES) {
            Ok(body) => body,
            Err(too_large) => return Outcome::Reject(format!("not forwarded: {too_large}")),
        };
        let id = webhook_id(event.id.as_deref(), event.raw.get().as_bytes());
        let Ok(_permit) = self.permits.acquire().await else {
            return Outcome::Retry("the forwarder is shutting down".into());
        };
        // Signed when sent, not when queued: receivers refuse old timestamps.
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let signature = self.key.sign(&id, timestamp, body.as_bytes());
        let sent = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, &id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let mut answer = match sent {
            Ok(answer) => answer,
            Err(error) => {
                // Without the URL: it may carry a token in its query.
                let reason = format!("the endpoint did not answer: {}", error.without_url());
                warn!(webhook_id = id.as_str(), reason, "event not forwarded");
                return Outcome::Retry(reason);
            }
        };
        let status = answer.status().as_u16();
        let mut start = Vec::new();
        while start.len() < EXCERPT_BYTES {
            match answer.chunk().await {
                Ok(Some(chunk)) => {
                    start.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - start.len())])
                }
                _ => break,
            }
        }
        let outcome = outcome_of_answer(status, &start);
        if !matches!(outcome, Outcome::Done) {
            warn!(webhook_id = id.as_str(), status, "event not forwarded");
        }
        outcome
    }
}

impl EventHandler for WebhookForwarder {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let outcome = self.forward(event).await;
        self.count(&outcome);
        outcome
    }
}
