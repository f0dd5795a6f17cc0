//! The default business logic: one structured log line per event.

use tracing::info;

use crate::core::event::{Current, PimEvent};
use crate::ports::handler::{EventHandler, Outcome};

#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingHandler;

impl EventHandler for LoggingHandler {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        info!(
            event_id = event.id.as_deref(),
            entity = event.entity.name(),
            action = ?event.action,
            uuid = event.keys.uuid.as_deref(),
            identifier = event.keys.identifier.as_deref(),
            code = event.keys.code.as_deref(),
            author = event.author.as_ref().map(|a| a.identifier.as_str()),
            occurred_at = event.occurred_at.map(|t| t.to_string()),
            // What the PIM has now, when enrichment is on (never the data itself).
            current = event.current.as_ref().map(|current| match current {
                Current::Found(_) => "found",
                Current::Gone => "gone",
            }),
            current_sha256 = event
                .current
                .as_ref()
                .and_then(Current::json)
                .map(|json| hex::encode(ring::digest::digest(&ring::digest::SHA256, json.as_bytes()))),
            // Identifies the exact bytes handled, without logging the payload.
            raw_sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, event.raw.get().as_bytes())),
            "event received"
        );
        Outcome::Done
    }
}
