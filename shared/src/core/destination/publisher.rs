//! Publishes a batch's events to an event bus: ten entries per call, each
//! failed entry sent again alone (with a pause that doubles) while the call
//! budget lasts, and each message's outcome decided by its own entry only.
//! Used as the business logic (an [`EventHandler`] that handles batches), so
//! every step before it holds: duplicates, stale and own events never reach
//! the bus, and a published event counts as handled for idempotency.

use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use super::bus::{BusEntry, ENTRY_LIMIT_BYTES, EntryResult, calls, is_permanent};
use super::detail::{detail, detail_type};
use crate::core::event::PimEvent;
use crate::observability::metrics::{Metrics, Record};
use crate::ports::event_bus::EventBus;
use crate::ports::handler::{EventHandler, Outcome};

/// Calls per entry at most, the first included.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// The pause before the first retry; doubled before each next one.
pub const DEFAULT_PAUSE: Duration = Duration::from_millis(100);

/// Publishes events to an [`EventBus`], as the business logic behind
/// `DESTINATION=eventbridge` (see the module).
pub struct BusPublisher {
    bus: Arc<dyn EventBus>,
    entry_limit: usize,
    attempts: u32,
    pause: Duration,
    metrics: Metrics,
}

/// Which event (its index) an entry still to publish carries, and why its
/// last try failed.
struct Pending {
    owner: usize,
    last_failure: String,
}

impl BusPublisher {
    /// Publishes to `bus`, with EventBridge's entry limit, [`DEFAULT_ATTEMPTS`]
    /// and [`DEFAULT_PAUSE`].
    pub fn new(bus: Arc<dyn EventBus>) -> BusPublisher {
        BusPublisher {
            bus,
            entry_limit: ENTRY_LIMIT_BYTES,
            attempts: DEFAULT_ATTEMPTS,
            pause: DEFAULT_PAUSE,
            metrics: Metrics::disabled(),
        }
    }

    /// The bus's entry (and call) size limit.
    pub fn with_entry_limit(mut self, bytes: usize) -> BusPublisher {
        self.entry_limit = bytes;
        self
    }

    /// Calls per entry at most (at least 1), and the first pause between them.
    pub fn with_retries(mut self, attempts: u32, pause: Duration) -> BusPublisher {
        self.attempts = attempts.max(1);
        self.pause = pause;
        self
    }

    /// Counts published and failed entries in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> BusPublisher {
        self.metrics = metrics;
        self
    }

    /// One outcome per event, in order: `Done` once its entry is on the bus,
    /// `Retry` when the bus kept failing it (the message comes back later),
    /// `Reject` when the bus refused its content or it cannot be carried.
    pub async fn publish(&self, events: &[&PimEvent]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
        let mut pending = Vec::with_capacity(events.len());
        let mut entries = Vec::with_capacity(events.len());
        for (owner, event) in events.iter().enumerate() {
            let detail_type = detail_type(event);
            let room = BusEntry::detail_room(&detail_type, self.entry_limit);
            match detail(event, event.stored_at.as_ref(), room) {
                Ok(detail) => {
                    pending.push(Pending {
                        owner,
                        last_failure: String::new(),
                    });
                    entries.push(BusEntry { detail_type, detail });
                }
                Err(too_large) => {
                    outcomes[owner] = Some(Outcome::Reject(format!("not published: {too_large}")))
                }
            }
        }
        let mut published = 0;
        for attempt in 0..self.attempts {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(self.pause.saturating_mul(1 << (attempt - 1).min(16))).await;
            }
            let (done, failed, unsent) = self.attempt(pending, entries, &mut outcomes).await;
            published += done;
            pending = failed;
            entries = unsent;
        }
        for left in pending {
            outcomes[left.owner] = Some(Outcome::Retry(format!(
                "not published after {} attempts: {}",
                self.attempts, left.last_failure
            )));
        }
        let outcomes: Vec<Outcome> = outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Outcome::Retry("not published".into())))
            .collect();
        let failures = outcomes.iter().filter(|o| !matches!(o, Outcome::Done)).count();
        if failures > 0 {
            warn!(failures, events = events.len(), "events not published to the bus");
        }
        self.metrics.emit(
            &Record {
                dimensions: vec![],
                counts: vec![
                    ("EventsPublished", published),
                    ("PublishFailures", failures as u64),
                ],
            },
            false,
        );
        outcomes
    }

    /// Sends every pending entry once, ten per call; answers how many were
    /// published, and those to send again.
    async fn attempt(
        &self,
        pending: Vec<Pending>,
        entries: Vec<BusEntry>,
        outcomes: &mut [Option<Outcome>],
    ) -> (u64, Vec<Pending>, Vec<BusEntry>) {
        let sizes: Vec<usize> = entries.iter().map(BusEntry::size).collect();
        let mut results: Vec<Option<EntryResult>> = vec![None; entries.len()];
        let mut call_failure = vec![String::new(); entries.len()];
        for range in calls(&sizes, self.entry_limit) {
            match self.bus.put_events(&entries[range.clone()]).await {
                Ok(answered) if answered.len() == range.len() => {
                    for (slot, result) in results[range].iter_mut().zip(answered) {
                        *slot = Some(result);
                    }
                }
                Ok(answered) => {
                    let reason = format!(
                        "the bus answered {} results for {} entries",
                        answered.len(),
                        range.len()
                    );
                    call_failure[range].fill(reason);
                }
                Err(error) => call_failure[range].fill(error.to_string()),
            }
        }
        let mut published = 0;
        let mut again = Vec::new();
        let mut unsent = Vec::new();
        let answers = pending.into_iter().zip(entries).zip(results).zip(call_failure);
        for (((mut item, entry), result), failure) in answers {
            match result {
                Some(EntryResult::Published) => {
                    published += 1;
                    outcomes[item.owner] = Some(Outcome::Done);
                }
                Some(EntryResult::Failed { code, message }) if is_permanent(&code) => {
                    outcomes[item.owner] = Some(Outcome::Reject(format!(
                        "the bus refused the event: {code}: {message}"
                    )));
                }
                Some(EntryResult::Failed { code, message }) => {
                    item.last_failure = format!("{code}: {message}");
                    again.push(item);
                    unsent.push(entry);
                }
                None => {
                    item.last_failure = failure;
                    again.push(item);
                    unsent.push(entry);
                }
            }
        }
        (published, again, unsent)
    }
}

impl EventHandler for BusPublisher {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        self.publish(&[event])
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| Outcome::Retry("not published".into()))
    }

    async fn handle_batch(&self, events: &[&PimEvent]) -> Option<Vec<Outcome>> {
        Some(self.publish(events).await)
    }
}
