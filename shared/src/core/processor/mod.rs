//! The processor: parse each message of a batch on its own, run the business
//! logic (concurrently, but in order per entity), and turn each outcome into
//! what happens to the message: deleted, retried later, or dead-lettered.

pub mod backoff;
pub mod schedule;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::{FutureExt, StreamExt, stream};
use tokio::time::{Instant, timeout};
use tracing::{Instrument, info, info_span, warn};

use crate::core::delivery::deliver;
use crate::core::event::PimEvent;
use crate::core::message::{ATTRIBUTE_ID, ATTRIBUTE_TYPE, dead_letter_message};
use crate::observability::metrics::{self, Metrics};
use crate::ports::handler::{EventHandler, Outcome};
use crate::ports::queue::{QueueSender, ReceivedMessage, VisibilityChange, VisibilityChanger};
use backoff::backoff;

/// How long the processor may spend sending a batch's rejects to the DLQ, and
/// changing the visibility of its retries.
const QUEUE_CALL_BUDGET: Duration = Duration::from_secs(5);

pub const DEFAULT_CONCURRENCY: usize = 10;
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(900);

/// How a batch is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How many messages of a batch run at the same time.
    pub concurrency: usize,
    /// The longest a retried message waits before it is visible again.
    pub backoff_cap: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            concurrency: DEFAULT_CONCURRENCY,
            backoff_cap: DEFAULT_BACKOFF_CAP,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Handled: report success, Lambda deletes it.
    Done,
    /// Report failure; it comes back after `delay` (if the visibility change
    /// went through; otherwise after the queue's visibility timeout).
    Retried { reason: String, delay: Duration },
    /// On the DLQ: report success so Lambda deletes the original.
    DeadLettered { code: String },
    /// Should have gone to the DLQ but could not: report failure so it is
    /// received again. A poison message may be retried, never dropped.
    DeadLetterFailed { code: String },
}

impl Disposition {
    /// Whether the batch response lists the message as failed.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Disposition::Retried { .. } | Disposition::DeadLetterFailed { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Disposition::Done => "done",
            Disposition::Retried { .. } => "retried",
            Disposition::DeadLettered { .. } => "dead_lettered",
            Disposition::DeadLetterFailed { .. } => "dead_letter_failed",
        }
    }
}

/// The handler's verdict before the queue calls that carry it out.
enum Verdict {
    Done,
    Retry(String),
    DeadLetter { code: String, message: String },
}

pub struct Processor<H, D, V> {
    handler: H,
    dead_letters: D,
    visibility: V,
    concurrency: usize,
    backoff_cap: Duration,
    metrics: Metrics,
}

impl<H: EventHandler, D: QueueSender, V: VisibilityChanger> Processor<H, D, V> {
    /// `dead_letters` sends to the DLQ; `visibility` acts on the source queue.
    pub fn new(handler: H, dead_letters: D, visibility: V, settings: Settings) -> Processor<H, D, V> {
        Processor {
            handler,
            dead_letters,
            visibility,
            concurrency: settings.concurrency.max(1),
            backoff_cap: settings.backoff_cap,
            metrics: Metrics::disabled(),
        }
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Processor<H, D, V> {
        self.metrics = metrics;
        self
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Processes a batch; answers each record's disposition, in batch order.
    pub async fn process_batch(&self, records: &[ReceivedMessage]) -> Vec<Disposition> {
        let parsed: Vec<Result<PimEvent, (&'static str, String)>> = records
            .iter()
            .map(|record| match record.body.as_deref() {
                None | Some("") => Err(("invalid_envelope", String::from("the message has no body"))),
                Some(body) => PimEvent::from_message_body(body).map_err(|e| (e.code(), e.to_string())),
            })
            .collect();
        let events: Vec<Option<&PimEvent>> = parsed.iter().map(|p| p.as_ref().ok()).collect();
        let groups = schedule::entity_groups(&events);

        let mut verdicts: Vec<Option<Verdict>> = (0..records.len()).map(|_| None).collect();
        let mut runs = stream::iter(groups)
            .map(|group| self.run_group(group, records, &parsed))
            .buffer_unordered(self.concurrency);
        while let Some(results) = runs.next().await {
            for (index, verdict) in results {
                verdicts[index] = Some(verdict);
            }
        }
        drop(runs);

        let verdicts: Vec<Verdict> = verdicts
            .into_iter()
            .map(|v| v.unwrap_or_else(|| Verdict::Retry("not run".into())))
            .collect();
        let dispositions = self.carry_out(records, verdicts).await;
        for (record, disposition) in records.iter().zip(&dispositions) {
            log_disposition(record, disposition);
        }
        self.count(&dispositions);
        dispositions
    }

    async fn run_group(
        &self,
        group: Vec<usize>,
        records: &[ReceivedMessage],
        parsed: &[Result<PimEvent, (&'static str, String)>],
    ) -> Vec<(usize, Verdict)> {
        let mut results = Vec::with_capacity(group.len());
        for index in group {
            let record = &records[index];
            let span = info_span!(
                "message",
                message_id = record.message_id.as_str(),
                event_id = record.attribute(ATTRIBUTE_ID),
                event_type = record.attribute(ATTRIBUTE_TYPE),
                receive_count = record.receive_count,
            );
            let verdict = match &parsed[index] {
                Err((code, message)) => Verdict::DeadLetter {
                    code: (*code).to_owned(),
                    message: message.clone(),
                },
                Ok(event) => self.run_handler(event).instrument(span).await,
            };
            results.push((index, verdict));
        }
        results
    }

    async fn run_handler(&self, event: &PimEvent) -> Verdict {
        match AssertUnwindSafe(self.handler.handle(event)).catch_unwind().await {
            Ok(Outcome::Done) => Verdict::Done,
            Ok(Outcome::Retry(reason)) => Verdict::Retry(reason),
            Ok(Outcome::Reject(reason)) => Verdict::DeadLetter {
                code: "rejected".into(),
                message: reason,
            },
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                warn!(
                    panic = message.as_str(),
                    "business logic panicked; the message will be retried"
                );
                Verdict::Retry(format!("business logic panicked: {message}"))
            }
        }
    }

    /// Sends the rejects to the DLQ and postpones the retries.
    async fn carry_out(&self, records: &[ReceivedMessage], verdicts: Vec<Verdict>) -> Vec<Disposition> {
        let rejects: Vec<usize> = (0..records.len())
            .filter(|&i| matches!(verdicts[i], Verdict::DeadLetter { .. }))
            .collect();
        let messages: Vec<_> = rejects
            .iter()
            .map(|&i| match &verdicts[i] {
                Verdict::DeadLetter { code, message } => dead_letter_message(&records[i], code, message),
                _ => unreachable!("filtered to dead letters"),
            })
            .collect();
        let delivery = deliver(&self.dead_letters, &messages, Instant::now() + QUEUE_CALL_BUDGET).await;
        if delivery.message_ids.iter().any(Option::is_none) {
            warn!(
                reason = delivery.last_error.as_str(),
                "dead-letter queue did not take every message"
            );
        }
        let mut dead_lettered = vec![false; records.len()];
        for (&index, message_id) in rejects.iter().zip(&delivery.message_ids) {
            dead_lettered[index] = message_id.is_some();
        }

        let dispositions: Vec<Disposition> = verdicts
            .into_iter()
            .enumerate()
            .map(|(index, verdict)| match verdict {
                Verdict::Done => Disposition::Done,
                Verdict::Retry(reason) => {
                    let record = &records[index];
                    let delay = backoff(record.receive_count, self.backoff_cap, &record.message_id);
                    Disposition::Retried { reason, delay }
                }
                Verdict::DeadLetter { code, .. } if dead_lettered[index] => {
                    Disposition::DeadLettered { code }
                }
                Verdict::DeadLetter { code, .. } => Disposition::DeadLetterFailed { code },
            })
            .collect();
        self.postpone_retries(records, &dispositions).await;
        dispositions
    }

    async fn postpone_retries(&self, records: &[ReceivedMessage], dispositions: &[Disposition]) {
        let ids: Vec<String> = (0..records.len()).map(|i| i.to_string()).collect();
        let changes: Vec<VisibilityChange<'_>> = dispositions
            .iter()
            .enumerate()
            .filter_map(|(i, disposition)| match disposition {
                Disposition::Retried { delay, .. } => Some(VisibilityChange {
                    id: &ids[i],
                    receipt_handle: records[i].receipt_handle.as_deref()?,
                    timeout: *delay,
                }),
                _ => None,
            })
            .collect();
        for chunk in changes.chunks(10) {
            match timeout(QUEUE_CALL_BUDGET, self.visibility.change_visibility(chunk)).await {
                Ok(Ok(failed)) if failed.is_empty() => {}
                Ok(Ok(failed)) => warn!(
                    count = failed.len(),
                    "visibility not changed for some retried messages"
                ),
                Ok(Err(error)) => warn!(reason = %error, "visibility not changed; retries come back sooner"),
                Err(_) => warn!("visibility change timed out; retries come back sooner"),
            }
        }
    }
}

impl<H, D, V> Processor<H, D, V> {
    fn count(&self, dispositions: &[Disposition]) {
        let count = |name: &str| dispositions.iter().filter(|d| d.name() == name).count() as u64;
        let record = metrics::Record {
            dimensions: vec![],
            counts: vec![
                ("EventsProcessed", count("done")),
                ("EventsRetried", count("retried")),
                ("EventsDeadLettered", count("dead_lettered")),
                ("DeadLetterFailures", count("dead_letter_failed")),
            ],
        };
        self.metrics.emit(&record, false);
    }
}

fn log_disposition(record: &ReceivedMessage, disposition: &Disposition) {
    let (reason, delay_secs, code) = match disposition {
        Disposition::Done => (None, None, None),
        Disposition::Retried { reason, delay } => (Some(reason.as_str()), Some(delay.as_secs()), None),
        Disposition::DeadLettered { code } | Disposition::DeadLetterFailed { code } => {
            (None, None, Some(code.as_str()))
        }
    };
    info!(
        message_id = record.message_id.as_str(),
        event_id = record.attribute(ATTRIBUTE_ID),
        event_type = record.attribute(ATTRIBUTE_TYPE),
        receive_count = record.receive_count,
        outcome = disposition.name(),
        reason,
        retry_in_secs = delay_secs,
        error_code = code,
        "message processed"
    );
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        String::from("(no message)")
    }
}

#[cfg(test)]
mod tests;
