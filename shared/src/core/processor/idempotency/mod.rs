//! The exactly-once guard around the business logic, through the idempotency
//! store port. Before it: claim the batch's events (concurrently) and read
//! their entities' last handled times (one call), then decide the duplicates,
//! the events in progress elsewhere and the stale events with the pure rules of
//! [`super::dedupe`] and [`super::stale`]. After it, once the verdicts are
//! known: complete or release each claim, and record what was handled.
//!
//! A store that fails never drops an event: what could not be checked is
//! retried.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::{StreamExt, stream};
use time::OffsetDateTime;
use tokio::time::timeout;
use tracing::{info, warn};

use super::batch::{Batch, Verdict};
use super::dedupe::{self, Settlement};
use super::stale::{self, StalePolicy};
use crate::observability::logs::rfc3339;
use crate::observability::metrics::{self, Metrics};
use crate::ports::handler::EventHandler;
use crate::ports::idempotency::{Claim, ClaimOutcome, IdempotencyStore, StoreError};
use crate::ports::queue::ReceivedMessage;

/// How long a completed event (and an entity's last handled time) is kept:
/// longer than SQS keeps a message (4 days on the queue, 14 on the dead-letter
/// queue, both counted from the first enqueue), so a redrive of an old message
/// is still recognised.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(14 * 24 * 3600);

/// One store call may take this long before it counts as failed.
const STORE_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Store calls in flight at once (a batch can hold up to 10,000 messages).
const CONCURRENT_CALLS: usize = 32;

/// The store and how long it remembers.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    window: Duration,
}

/// What the guard keeps between the two halves of a batch.
pub struct Guarded {
    owner: String,
    /// (message index, key) of the claims this batch holds.
    claimed: Vec<(usize, String)>,
    /// (message index, entity records, occurred_at) of the events left to the
    /// business logic: recorded as handled if it answers done.
    to_record: Vec<(usize, Vec<String>, OffsetDateTime)>,
}

#[derive(Default)]
struct Counts {
    duplicates: u64,
    stale_skipped: u64,
    stale_delivered: u64,
    store_errors: u64,
}

impl Counts {
    fn emit(&self, metrics: &Metrics) {
        let record = metrics::Record {
            dimensions: vec![],
            counts: vec![
                ("DuplicatesSkipped", self.duplicates),
                ("StaleSkipped", self.stale_skipped),
                ("StaleDelivered", self.stale_delivered),
                ("IdempotencyStoreErrors", self.store_errors),
            ],
        };
        metrics.emit(&record, false);
    }
}

impl Idempotency {
    /// Claims and records through `store`, remembering for `window`.
    pub fn new(store: Arc<dyn IdempotencyStore>, window: Duration) -> Idempotency {
        Idempotency { store, window }
    }

    /// How long handled events are remembered.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Decides the duplicates, the events in progress elsewhere and the stale
    /// events of the batch; claims the rest until `deadline`.
    pub async fn before<H: EventHandler>(
        &self,
        handler: &H,
        messages: &[ReceivedMessage],
        batch: &mut Batch,
        deadline: SystemTime,
        metrics: &Metrics,
    ) -> Guarded {
        let now = SystemTime::now();
        let until = dedupe::claim_until(now, deadline);
        let owner = owner_token();
        let (plan, records) = {
            let pending = batch.pending();
            (dedupe::plan(&pending), stale::records_to_read(&pending))
        };
        let (answers, last_handled) = futures::join!(
            self.claim_all(&plan.claims, &owner, now, until),
            self.last_handled(&records, now)
        );
        let mut counts = Counts::default();

        for &(index, first) in &plan.repeats {
            info!(
                message_id = messages[index].message_id.as_str(),
                event_id = event_id(batch, index).as_deref(),
                same_as_message_id = messages[first].message_id.as_str(),
                duplicate = true,
                "duplicate event skipped: the same event is earlier in this batch"
            );
            batch.decide(index, Verdict::Done);
            counts.duplicates += 1;
        }

        let mut claimed = Vec::with_capacity(plan.claims.len());
        for ((index, key), answer) in plan.claims.into_iter().zip(answers) {
            let Some(verdict) = dedupe::verdict_after_claim(&answer) else {
                claimed.push((index, key));
                continue;
            };
            let message_id = messages[index].message_id.as_str();
            match &answer {
                Ok(ClaimOutcome::Completed) => {
                    counts.duplicates += 1;
                    info!(
                        message_id,
                        event_id = event_id(batch, index).as_deref(),
                        idempotency_key = key.as_str(),
                        duplicate = true,
                        "duplicate event skipped: already handled"
                    );
                }
                Ok(ClaimOutcome::InProgress { .. }) => info!(
                    message_id,
                    idempotency_key = key.as_str(),
                    "event in progress in another invocation; retried later"
                ),
                Ok(ClaimOutcome::Claimed) => {}
                Err(error) => {
                    counts.store_errors += 1;
                    warn!(message_id, idempotency_key = key.as_str(), reason = %error, "event not claimed; retried later");
                }
            }
            batch.decide(index, verdict);
        }

        let mut to_record = Vec::new();
        if let Err(error) = &last_handled {
            counts.store_errors += 1;
            warn!(reason = %error, "last handled times not read; events about entities retried later");
        }
        for (index, message) in messages.iter().enumerate() {
            let Some(event) = batch.event_mut(index) else {
                continue;
            };
            let entity_records = stale::entity_records(event);
            let Some(occurred_at) = event.occurred_at.filter(|_| !entity_records.is_empty()) else {
                continue;
            };
            let last_handled = match &last_handled {
                Ok(last_handled) => last_handled,
                Err(error) => {
                    batch.decide(index, Verdict::Retry(error.to_string()));
                    continue;
                }
            };
            event.stale = stale::staleness(event, last_handled);
            if let Some(stale) = event.stale {
                let policy = handler.stale_policy(event);
                let skipped = policy == StalePolicy::Skip;
                info!(
                    message_id = message.message_id.as_str(),
                    event_id = event.id.as_deref(),
                    event_type = event.event_type.as_deref(),
                    stale = true,
                    occurred_at = %rfc3339(occurred_at),
                    newer_handled = %rfc3339(stale.newer_handled),
                    skipped,
                    "stale event: a newer one about the same entity was handled"
                );
                if skipped {
                    counts.stale_skipped += 1;
                    batch.decide(index, Verdict::Done);
                    continue;
                }
                counts.stale_delivered += 1;
            }
            to_record.push((index, entity_records, occurred_at));
        }
        counts.emit(metrics);
        Guarded {
            owner,
            claimed,
            to_record,
        }
    }

    /// Completes the claims of done messages, releases the others, and records
    /// the entity times of the events the business logic handled. A failure
    /// here is logged: the verdicts stand (a claim left in progress frees itself
    /// at the deadline).
    pub async fn after(&self, guarded: Guarded, verdicts: &[Verdict], metrics: &Metrics) {
        let now = SystemTime::now();
        let keep_until = now + self.window;
        let store = self.store.as_ref();
        let owner = guarded.owner.as_str();
        // Futures built up front (not in a lazy stream of closures over
        // borrows), which keeps the batch future provably Send.
        let mut keys: Vec<&str> = Vec::new();
        let mut calls: Vec<BoxFuture<'_, Result<(), StoreError>>> = Vec::new();
        for (index, key) in &guarded.claimed {
            let call = match dedupe::settlement(&verdicts[*index]) {
                Settlement::Complete => store.complete(key, keep_until),
                Settlement::Release => store.release(key, owner),
            };
            keys.push(key);
            calls.push(Box::pin(bounded(call)));
        }
        for (index, records, occurred_at) in &guarded.to_record {
            if verdicts[*index] != Verdict::Done {
                continue;
            }
            for record in records {
                keys.push(record);
                let call = store.record_handled(record, *occurred_at, now, keep_until);
                calls.push(Box::pin(bounded(call)));
            }
        }
        let results: Vec<Result<(), StoreError>> =
            stream::iter(calls).buffered(CONCURRENT_CALLS).collect().await;
        let mut counts = Counts::default();
        for (key, result) in keys.into_iter().zip(&results) {
            if let Err(error) = result {
                counts.store_errors += 1;
                warn!(key, reason = %error, "idempotency store not updated");
            }
        }
        counts.emit(metrics);
    }

    /// A large event's object is missing: another delivery of the same event
    /// may have been handled, its object deleted when it was done. The store
    /// tells: handled already is a duplicate (done); in progress elsewhere is
    /// retried (that delivery decides); not handled leaves the dead letter
    /// (the claim taken to ask is given back); a store that cannot say is
    /// retried. Answers the verdicts that replace the dead letter.
    pub async fn settle_missing_payloads(
        &self,
        messages: &[ReceivedMessage],
        missing: &[usize],
        metrics: &Metrics,
    ) -> Vec<(usize, Verdict)> {
        let keyed: Vec<(usize, String)> = missing
            .iter()
            .filter_map(|&index| Some((index, dedupe::idempotency_key_of_message(&messages[index])?)))
            .collect();
        if keyed.is_empty() {
            return Vec::new();
        }
        let owner = owner_token();
        let now = SystemTime::now();
        let answers = self.claim_all(&keyed, &owner, now, now + dedupe::MIN_CLAIM).await;
        let mut counts = Counts::default();
        let mut verdicts = Vec::new();
        for ((index, key), answer) in keyed.iter().zip(answers) {
            let message_id = messages[*index].message_id.as_str();
            match answer {
                Ok(ClaimOutcome::Completed) => {
                    counts.duplicates += 1;
                    info!(
                        message_id,
                        idempotency_key = key.as_str(),
                        duplicate = true,
                        "duplicate event skipped: already handled (its large payload was deleted then)"
                    );
                    verdicts.push((*index, Verdict::Done));
                }
                Ok(ClaimOutcome::InProgress { .. }) => verdicts.push((
                    *index,
                    Verdict::Retry("the event is being handled by another invocation".into()),
                )),
                Ok(ClaimOutcome::Claimed) => {
                    if let Err(error) = bounded(self.store.release(key, &owner)).await {
                        counts.store_errors += 1;
                        warn!(key = key.as_str(), reason = %error, "idempotency store not updated");
                    }
                }
                Err(error) => {
                    counts.store_errors += 1;
                    warn!(message_id, idempotency_key = key.as_str(), reason = %error, "large event's payload missing and the store cannot say whether it was handled; retried later");
                    verdicts.push((*index, Verdict::Retry(error.to_string())));
                }
            }
        }
        counts.emit(metrics);
        verdicts
    }

    async fn claim_all(
        &self,
        claims: &[(usize, String)],
        owner: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Vec<Result<ClaimOutcome, StoreError>> {
        let mut calls: Vec<BoxFuture<'_, Result<ClaimOutcome, StoreError>>> =
            Vec::with_capacity(claims.len());
        for (_, key) in claims {
            let claim = Claim {
                key,
                owner,
                now,
                until,
            };
            calls.push(Box::pin(bounded(self.store.claim(claim))));
        }
        stream::iter(calls).buffered(CONCURRENT_CALLS).collect().await
    }

    async fn last_handled(
        &self,
        records: &[String],
        now: SystemTime,
    ) -> Result<std::collections::HashMap<String, OffsetDateTime>, StoreError> {
        if records.is_empty() {
            return Ok(Default::default());
        }
        bounded(self.store.last_handled(records, now)).await
    }
}

/// A store call that takes too long counts as failed.
async fn bounded<T>(call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    timeout(STORE_CALL_TIMEOUT, call).await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(format!(
            "no answer within {STORE_CALL_TIMEOUT:?}"
        )))
    })
}

/// The id of the event still pending at `index`, for the log line that
/// decides it.
fn event_id(batch: &mut Batch, index: usize) -> Option<String> {
    batch.event_mut(index).and_then(|event| event.id.clone())
}

/// Who holds this batch's claims: random, so a claim that expired and was
/// taken over is never released by its first holder.
fn owner_token() -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 16];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        return format!("{}-{nanos}", std::process::id());
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests;
