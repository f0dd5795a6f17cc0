//! The default business logic: one structured log line per event.

use tracing::info;

use crate::core::event::{Current, PimEvent};
use crate::observability::logs::rfc3339;
use crate::ports::handler::{EventHandler, Outcome};

/// The default business logic: logs one `event received` line per event
/// (ids, entity, keys, author, digests of the payload, never the payload
/// itself) and answers [`Outcome::Done`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingHandler;

impl EventHandler for LoggingHandler {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        info!(
            event_id = event.id.as_deref(),
            protocol = event.protocol.as_str(),
            tenant = event.tenant.as_deref(),
            entity = event.entity.name(),
            action = ?event.action,
            uuid = event.keys.uuid.as_deref(),
            identifier = event.keys.identifier.as_deref(),
            code = event.keys.code.as_deref(),
            author = event.author.as_ref().map(|a| a.identifier.as_str()),
            occurred_at = event.occurred_at.map(rfc3339),
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::Protocol;
    use crate::core::message::{EventFields, OutboundMessage};

    /// The log lines written while it is the default subscriber.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[tokio::test]
    async fn the_event_received_line_gives_occurred_at_in_rfc_3339() {
        // GIVEN an event that occurred at a time with a fraction of a second,
        // and the JSON log lines the Lambdas write
        let raw = r#"{"data":{"resource":{"uuid":"u1","identifier":"sku-1"},"product":{"uuid":"u1"}}}"#;
        let fields = EventFields {
            id: Some("e1".into()),
            kind: Some("product.updated".into()),
            occurred_at: Some("2026-12-03T20:15:50.45+00:00".into()),
            source: None,
        };
        let body = OutboundMessage::build(Protocol::EventsApi, raw, &fields, "t").body;
        let event = PimEvent::from_message_body(&body).expect("envelope");
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(lines.clone())
            .finish();
        // WHEN the default business logic handles it
        let outcome = {
            let _default = tracing::subscriber::set_default(subscriber);
            LoggingHandler.handle(&event).await
        };
        // THEN its line says when in RFC 3339, as scripts and Logs Insights parse times
        assert_eq!(outcome, Outcome::Done);
        let text = String::from_utf8(lines.0.lock().expect("lock").clone()).expect("UTF-8");
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(line["occurred_at"], "2026-12-03T20:15:50.45Z", "{text}");
    }
}
