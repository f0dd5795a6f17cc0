//! The processor: parse each message of a batch on its own, run the business
//! logic (concurrently, but in order per entity), and turn each outcome into
//! what happens to the message: deleted, retried later, or dead-lettered.

/// How long a retried message waits: exponential backoff with jitter.
pub mod backoff;
pub mod batch;
pub mod catch_up_jobs;
pub mod claim_check;
pub mod dedupe;
pub mod enrichment;
pub mod idempotency;
pub mod own_events;
pub mod probes;
pub mod schedule;
pub mod stale;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::{FutureExt, StreamExt, stream};
use tokio::time::{Instant, timeout};
use tracing::{Instrument, error, info, info_span, warn};

use crate::core::delivery::deliver;
use crate::core::event::PimEvent;
use crate::core::message::{ATTRIBUTE_ID, ATTRIBUTE_TENANT, ATTRIBUTE_TYPE, dead_letter_message};
use crate::observability::metrics::{self, Metrics};
use crate::ports::handler::{EventHandler, Outcome};
use crate::ports::idempotency::IdempotencyStore;
use crate::ports::payload_store::PayloadStore;
use crate::ports::pim::{PimReader, TenantPims};
use crate::ports::queue::{QueueSender, ReceivedMessage, VisibilityChange, VisibilityChanger};
use backoff::backoff;
use batch::{Batch, Verdict};
use claim_check::Payloads;
use enrichment::Enrichment;
use idempotency::Idempotency;

/// How long the processor may spend sending a batch's rejects to the DLQ, and
/// changing the visibility of its retries.
const QUEUE_CALL_BUDGET: Duration = Duration::from_secs(5);

/// Messages of a batch run at the same time, unless configured.
pub const DEFAULT_CONCURRENCY: usize = 10;
/// The longest retry delay, unless configured: 15 minutes.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(900);
/// How long a batch may run when its caller gives no deadline (the template's
/// processor timeout): in-progress claims expire then.
pub const DEFAULT_RUN_TIME: Duration = Duration::from_secs(60);

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
    Retried {
        /// Why.
        reason: String,
        /// How long the message stays invisible.
        delay: Duration,
    },
    /// On the DLQ: report success so Lambda deletes the original.
    DeadLettered {
        /// The dead letter's `error_code`.
        code: String,
    },
    /// Should have gone to the DLQ but could not: report failure so it is
    /// received again. A poison message may be retried, never dropped.
    DeadLetterFailed {
        /// The `error_code` it would have had.
        code: String,
    },
}

impl Disposition {
    /// Whether the batch response lists the message as failed.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Disposition::Retried { .. } | Disposition::DeadLetterFailed { .. }
        )
    }

    /// Its name in logs and metrics (`done`, `retried`, `dead_lettered`,
    /// `dead_letter_failed`).
    pub fn name(&self) -> &'static str {
        match self {
            Disposition::Done => "done",
            Disposition::Retried { .. } => "retried",
            Disposition::DeadLettered { .. } => "dead_lettered",
            Disposition::DeadLetterFailed { .. } => "dead_letter_failed",
        }
    }
}

/// The processor: runs a batch of queue messages through every step
/// (large events fetched, doctor probes, own events, duplicates and stale
/// events, enrichment) and the business logic `H`, then carries out each
/// verdict: dead letters sent with `D`, retries delayed through `V` (the
/// source queue's visibility).
pub struct Processor<H, D, V> {
    handler: H,
    dead_letters: D,
    visibility: V,
    concurrency: usize,
    backoff_cap: Duration,
    payloads: Option<Payloads>,
    metrics: Metrics,
    idempotency: Option<Idempotency>,
    enrichment: Option<Enrichment>,
    own_authors: own_events::OwnAuthors,
    probes: Option<probes::ProbeRecorder>,
    catch_up: Option<catch_up_jobs::CatchUpJobs>,
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
            payloads: None,
            metrics: Metrics::disabled(),
            idempotency: None,
            enrichment: None,
            own_authors: own_events::OwnAuthors::default(),
            probes: None,
            catch_up: None,
        }
    }

    /// Runs the catch-up jobs the queue brings (the catch-up of a resumed
    /// subscription's suspended window, a scheduled reconciliation) with
    /// this PIM client and queue; without, such jobs are dead-lettered.
    pub fn with_catch_up(mut self, jobs: catch_up_jobs::CatchUpJobs) -> Processor<H, D, V> {
        self.catch_up = Some(jobs);
        self
    }

    /// Skips duplicate and stale events through `store`, remembering handled
    /// events for `window` (see [`idempotency`]).
    pub fn with_idempotency(
        mut self,
        store: Arc<dyn IdempotencyStore>,
        window: Duration,
    ) -> Processor<H, D, V> {
        self.idempotency = Some(Idempotency::new(store, window));
        self
    }

    /// Gives product and product model events their current state from the
    /// PIM before the business logic runs, spending at most `budget` per batch.
    pub fn with_pim(mut self, reader: Arc<dyn PimReader>, budget: Duration) -> Processor<H, D, V> {
        self.enrichment = Some(match self.enrichment.take() {
            Some(tenants) => Enrichment::new(reader, budget).with_tenants_of(tenants),
            None => Enrichment::new(reader, budget),
        });
        self
    }

    /// Gives each tenant's product and product model events their current
    /// state from that tenant's own PIM (see [`crate::core::tenant`]),
    /// spending at most `budget` per batch. A tenant the processor does not
    /// know (yet) has its events retried, never read from another PIM.
    pub fn with_tenant_pims(mut self, tenants: Arc<dyn TenantPims>, budget: Duration) -> Processor<H, D, V> {
        self.enrichment = Some(match self.enrichment.take() {
            Some(enrichment) => enrichment.with_tenants(tenants),
            None => Enrichment::for_tenants(tenants, budget),
        });
        self
    }

    /// Events by these authors, whichever protocol delivers them, are
    /// skipped: done without running the business logic.
    pub fn with_ignored_authors(mut self, authors: impl IntoIterator<Item = String>) -> Processor<H, D, V> {
        self.own_authors.extend(own_events::OwnAuthors::any(authors));
        self
    }

    /// The connection's own events are skipped, each protocol's by the name
    /// it gives the author (see [`own_events`]).
    pub fn with_own_authors(mut self, own: own_events::OwnAuthors) -> Processor<H, D, V> {
        self.own_authors.extend(own);
        self
    }

    /// Resolves pointers to large events from `store`, and deletes each object
    /// once its message is done if `delete_when_done`.
    pub fn with_payload_store(
        mut self,
        store: Arc<dyn PayloadStore>,
        delete_when_done: bool,
    ) -> Processor<H, D, V> {
        self.payloads = Some(Payloads {
            store,
            delete_when_done,
        });
        self
    }

    /// Tells `recorder` the event id of each doctor probe that arrives.
    pub fn with_probe_recorder(mut self, recorder: probes::ProbeRecorder) -> Processor<H, D, V> {
        self.probes = Some(recorder);
        self
    }

    /// Emits the batch's counts (`EventsProcessed`, `EventsRetried`, ...) to
    /// `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Processor<H, D, V> {
        self.metrics = metrics;
        self
    }

    /// The business logic it runs.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Processes a batch; answers each message's disposition, in batch order.
    pub async fn process_batch(&self, messages: &[ReceivedMessage]) -> Vec<Disposition> {
        self.process_batch_until(messages, SystemTime::now() + DEFAULT_RUN_TIME)
            .await
    }

    /// Processes a batch whose invocation ends at `deadline` (Lambda's): the
    /// events it claims are in progress until then.
    ///
    /// A panic anywhere in the machinery (a store, the PIM client, a queue
    /// adapter: the business logic has its own guard, per event) fails every
    /// message of the batch, retried; it never reaches the caller, so neither
    /// `serve`'s poller nor the Lambda's runtime loop stops on one answer.
    pub async fn process_batch_until(
        &self,
        messages: &[ReceivedMessage],
        deadline: SystemTime,
    ) -> Vec<Disposition> {
        match AssertUnwindSafe(self.run_batch(messages, deadline))
            .catch_unwind()
            .await
        {
            Ok(dispositions) => dispositions,
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                error!(
                    panic = message.as_str(),
                    messages = messages.len(),
                    "the processor failed on this batch; every message of it will be retried"
                );
                let dispositions: Vec<Disposition> = messages
                    .iter()
                    .map(|record| Disposition::Retried {
                        reason: format!("the processor failed: {message}"),
                        delay: backoff(record.receive_count, self.backoff_cap, &record.message_id),
                    })
                    .collect();
                self.count(messages, &dispositions);
                self.metrics.emit(
                    &metrics::Record {
                        dimensions: vec![],
                        counts: vec![("ProcessorFailures", 1)],
                    },
                    false,
                );
                dispositions
            }
        }
    }

    async fn run_batch(&self, messages: &[ReceivedMessage], deadline: SystemTime) -> Vec<Disposition> {
        let resolved = claim_check::resolve(self.payloads.as_ref(), messages, self.concurrency).await;
        let mut batch = Batch::from_bodies(resolved.bodies(messages));
        for (index, location) in resolved.locations() {
            if let Some(event) = batch.event_mut(index) {
                event.stored_at = Some(location.clone());
            }
        }
        if let Some(guard) = &self.idempotency {
            let missing = resolved.missing();
            for (index, verdict) in guard
                .settle_missing_payloads(messages, &missing, &self.metrics)
                .await
            {
                batch.decide(index, verdict);
            }
        }
        // The doctor's probes first, then own events: they need no store and no PIM. Duplicates and
        // stale events next, so the PIM is not read for events that will not
        // run; enrichment last, on what is still pending.
        probes::answer_probes(&mut batch, self.probes.as_ref());
        let skipped = own_events::skip_own_events(&mut batch, &self.own_authors);
        let guarded = match &self.idempotency {
            Some(guard) => Some(
                guard
                    .before(&self.handler, messages, &mut batch, deadline, &self.metrics)
                    .await,
            ),
            None => None,
        };
        // Catch-up jobs after the claims (a job delivered twice runs once),
        // before enrichment: they are not the logic's.
        catch_up_jobs::run_jobs(&mut batch, self.catch_up.as_ref(), deadline, &self.metrics).await;
        let unread = match &self.enrichment {
            Some(enrichment) => enrichment.enrich(&mut batch).await,
            None => 0,
        };
        self.run_handlers(messages, &mut batch).await;
        let verdicts = batch.into_verdicts();
        if let (Some(guard), Some(guarded)) = (&self.idempotency, guarded) {
            guard.after(guarded, &verdicts, &self.metrics).await;
        }
        let dispositions = self.carry_out(messages, verdicts).await;
        resolved.release(self.payloads.as_ref(), &dispositions).await;
        for (message, disposition) in messages.iter().zip(&dispositions) {
            log_disposition(message, disposition);
        }
        self.count(messages, &dispositions);
        self.metrics.emit(
            &metrics::Record {
                dimensions: vec![],
                counts: vec![("OwnEventsSkipped", skipped), ("PimReadFailures", unread)],
            },
            false,
        );
        dispositions
    }

    /// Runs the business logic on every pending event: entities concurrently up
    /// to the limit, one entity's events one after another, oldest first.
    async fn run_handlers(&self, messages: &[ReceivedMessage], batch: &mut Batch) {
        if self.run_batch_handler(batch).await {
            return;
        }
        let pending = batch.pending();
        let groups = schedule::entity_groups(&pending);
        let mut verdicts = Vec::with_capacity(messages.len());
        let mut runs = stream::iter(groups)
            .map(|group| self.run_group(group, messages, &pending))
            .buffer_unordered(self.concurrency);
        while let Some(results) = runs.next().await {
            verdicts.extend(results);
        }
        drop(runs);
        for (index, verdict) in verdicts {
            batch.decide(index, verdict);
        }
    }

    /// Gives the logic every pending event at once, when it handles batches
    /// (see [`EventHandler::handle_batch`]); answers whether it did. A panic,
    /// or an answer that does not give one outcome per event, retries them all.
    async fn run_batch_handler(&self, batch: &mut Batch) -> bool {
        let pending = batch.pending();
        let (indices, events): (Vec<usize>, Vec<&PimEvent>) = pending
            .iter()
            .enumerate()
            .filter_map(|(index, event)| event.map(|event| (index, event)))
            .unzip();
        let answered = AssertUnwindSafe(self.handler.handle_batch(&events))
            .catch_unwind()
            .await;
        let verdicts: Vec<Verdict> = match answered {
            Ok(None) => return false,
            Ok(Some(outcomes)) if outcomes.len() == events.len() => {
                outcomes.into_iter().map(verdict_of).collect()
            }
            Ok(Some(outcomes)) => {
                let reason = format!(
                    "the logic answered {} outcomes for {} events",
                    outcomes.len(),
                    events.len()
                );
                error!(
                    reason,
                    "business logic failed on the batch; its events will be retried"
                );
                vec![Verdict::Retry(reason); events.len()]
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                warn!(
                    panic = message.as_str(),
                    "business logic panicked on the batch; its events will be retried"
                );
                vec![Verdict::Retry(format!("business logic panicked: {message}")); events.len()]
            }
        };
        drop(pending);
        for (index, verdict) in indices.into_iter().zip(verdicts) {
            batch.decide(index, verdict);
        }
        true
    }

    async fn run_group(
        &self,
        group: Vec<usize>,
        messages: &[ReceivedMessage],
        pending: &[Option<&PimEvent>],
    ) -> Vec<(usize, Verdict)> {
        let mut results = Vec::with_capacity(group.len());
        for index in group {
            let Some(event) = pending[index] else { continue };
            let message = &messages[index];
            let span = info_span!(
                "message",
                message_id = message.message_id.as_str(),
                event_id = message.attribute(ATTRIBUTE_ID),
                event_type = message.attribute(ATTRIBUTE_TYPE),
                tenant = message.attribute(ATTRIBUTE_TENANT),
                receive_count = message.receive_count,
            );
            results.push((index, self.run_handler(event).instrument(span).await));
        }
        results
    }

    async fn run_handler(&self, event: &PimEvent) -> Verdict {
        match AssertUnwindSafe(self.handler.handle(event)).catch_unwind().await {
            Ok(outcome) => verdict_of(outcome),
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
    async fn carry_out(&self, messages: &[ReceivedMessage], verdicts: Vec<Verdict>) -> Vec<Disposition> {
        let (rejects, dead_letters): (Vec<usize>, Vec<_>) = verdicts
            .iter()
            .enumerate()
            .filter_map(|(i, verdict)| match verdict {
                Verdict::DeadLetter { code, message } => {
                    Some((i, dead_letter_message(&messages[i], code, message)))
                }
                _ => None,
            })
            .unzip();
        let delivery = deliver(
            &self.dead_letters,
            &dead_letters,
            Instant::now() + QUEUE_CALL_BUDGET,
        )
        .await;
        if delivery.message_ids.iter().any(Option::is_none) {
            warn!(
                reason = delivery.last_error.as_str(),
                "dead-letter queue did not take every message"
            );
        }
        let mut dead_lettered = vec![false; messages.len()];
        for (&index, message_id) in rejects.iter().zip(&delivery.message_ids) {
            dead_lettered[index] = message_id.is_some();
        }

        let dispositions: Vec<Disposition> = verdicts
            .into_iter()
            .enumerate()
            .map(|(index, verdict)| match verdict {
                Verdict::Done => Disposition::Done,
                Verdict::Retry(reason) => {
                    let record = &messages[index];
                    let delay = backoff(record.receive_count, self.backoff_cap, &record.message_id);
                    Disposition::Retried { reason, delay }
                }
                Verdict::DeadLetter { code, .. } if dead_lettered[index] => {
                    Disposition::DeadLettered { code }
                }
                Verdict::DeadLetter { code, .. } => Disposition::DeadLetterFailed { code },
            })
            .collect();
        self.postpone_retries(messages, &dispositions).await;
        dispositions
    }

    async fn postpone_retries(&self, messages: &[ReceivedMessage], dispositions: &[Disposition]) {
        let ids: Vec<String> = (0..messages.len()).map(|i| i.to_string()).collect();
        let changes: Vec<VisibilityChange<'_>> = dispositions
            .iter()
            .enumerate()
            .filter_map(|(i, disposition)| match disposition {
                Disposition::Retried { delay, .. } => Some(VisibilityChange {
                    id: &ids[i],
                    receipt_handle: messages[i].receipt_handle.as_deref()?,
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
    /// The batch's outcomes: the tenants' events each under their `Tenant`
    /// (which the metrics also publish without it, so the totals the alarms
    /// watch count every event once), the others without dimensions.
    fn count(&self, messages: &[ReceivedMessage], dispositions: &[Disposition]) {
        let tenant_of = |index: usize| messages.get(index).and_then(|m| m.attribute(ATTRIBUTE_TENANT));
        let mut groups: Vec<Option<&str>> = Vec::new();
        for index in 0..dispositions.len() {
            if !groups.contains(&tenant_of(index)) {
                groups.push(tenant_of(index));
            }
        }
        for group in groups {
            let count = |name: &str| {
                dispositions
                    .iter()
                    .enumerate()
                    .filter(|(index, d)| d.name() == name && tenant_of(*index) == group)
                    .count() as u64
            };
            let record = metrics::Record {
                dimensions: group
                    .map(|tenant| vec![(metrics::TENANT_DIMENSION, tenant)])
                    .unwrap_or_default(),
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
        tenant = record.attribute(ATTRIBUTE_TENANT),
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

/// What the logic's outcome means for its message.
fn verdict_of(outcome: Outcome) -> Verdict {
    match outcome {
        Outcome::Done => Verdict::Done,
        Outcome::Retry(reason) => Verdict::Retry(reason),
        Outcome::Reject(reason) => Verdict::DeadLetter {
            code: "rejected".into(),
            message: reason,
        },
    }
}

#[cfg(test)]
mod tests;
