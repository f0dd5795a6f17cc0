//! The durable memory behind exactly-once effects: which Akeneo events were
//! handled (or are being handled right now), and, per entity, when the newest
//! event handled about it happened. DynamoDB for the Lambdas, an in-process
//! map for `akeneo-relay serve`.
//!
//! Every time is given by the caller (the store never reads a clock), so two
//! stores answer the same questions the same way, and an entry whose time has
//! passed counts as absent even while it still exists (DynamoDB deletes
//! expired items only eventually).

use std::collections::HashMap;
use std::time::SystemTime;

use futures::future::BoxFuture;
use time::OffsetDateTime;

/// Claiming an event before its business logic runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The event's idempotency key (its Akeneo id, namespaced by protocol).
    pub key: &'a str,
    /// Who claims it: only this owner may release the claim.
    pub owner: &'a str,
    /// The caller's clock: entries that expired before it count as absent.
    pub now: SystemTime,
    /// The claim is *in progress* until then, and free again afterwards (a
    /// crashed or timed-out invocation does not lock the event for long).
    pub until: SystemTime,
}

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Nobody had it (or a previous claim expired): it is ours, in progress.
    Claimed,
    /// Already handled: do not run it again.
    Completed,
    /// Another invocation is running it until then.
    InProgress {
        /// When that claim expires.
        until: SystemTime,
    },
}

/// A store call failed. The detail is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The call did not go through (network, throttling, a 5xx, a timeout):
    /// trying again later may work.
    #[error("idempotency store unavailable: {0}")]
    Unavailable(String),
    /// The request or the answer was malformed (a wrong table, an item this
    /// code did not write).
    #[error("idempotency store request invalid: {0}")]
    Invalid(String),
}

/// The store. Boxed futures so the processor holds any store as
/// `Arc<dyn IdempotencyStore>`.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Conditionally claims `claim.key`: taken only if absent, expired (in
    /// progress past its `until`) or completed past its retention.
    fn claim<'a>(&'a self, claim: Claim<'a>) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>>;

    /// Marks `key` completed, remembered until `keep_until`.
    fn complete<'a>(&'a self, key: &'a str, keep_until: SystemTime) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Frees `key` if `owner` still holds it in progress, so a later attempt
    /// can run it; does nothing otherwise.
    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The `occurred_at` of the newest event handled about each of `entities`,
    /// for those the store remembers at `now`; in as few calls as possible.
    fn last_handled<'a>(
        &'a self,
        entities: &'a [String],
        now: SystemTime,
    ) -> BoxFuture<'a, Result<HashMap<String, OffsetDateTime>, StoreError>>;

    /// Records that an event about `entity` that occurred at `occurred_at` was
    /// handled, kept until `keep_until`, unless a newer one is already
    /// recorded (a conditional write: it never moves backwards).
    fn record_handled<'a>(
        &'a self,
        entity: &'a str,
        occurred_at: OffsetDateTime,
        now: SystemTime,
        keep_until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}
