//! The idempotency store in process memory, for `akeneo-relay serve` and
//! tests: the same answers as the DynamoDB adapter (an expired entry counts as
//! absent), forgotten when the process stops.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use futures::future::BoxFuture;
use time::OffsetDateTime;

use crate::ports::idempotency::{Claim, ClaimOutcome, IdempotencyStore, StoreError};

/// Expired entries are swept once the map has grown by this many since the
/// last sweep, so a long `serve` run does not keep every event forever.
const SWEEP_EVERY: usize = 4_096;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    InProgress {
        owner: String,
        until: SystemTime,
    },
    Completed {
        until: SystemTime,
    },
    Handled {
        occurred_at: OffsetDateTime,
        until: SystemTime,
    },
}

impl Entry {
    fn until(&self) -> SystemTime {
        match self {
            Entry::InProgress { until, .. } | Entry::Completed { until } | Entry::Handled { until, .. } => {
                *until
            }
        }
    }

    fn live_at(&self, now: SystemTime) -> bool {
        self.until() > now
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    sweep_at: usize,
}

impl State {
    fn put(&mut self, key: &str, entry: Entry, now: SystemTime) {
        self.entries.insert(key.to_owned(), entry);
        if self.entries.len() >= self.sweep_at + SWEEP_EVERY {
            self.entries.retain(|_, entry| entry.live_at(now));
            self.sweep_at = self.entries.len();
        }
    }
}

/// The idempotency store in process memory (see the module).
#[derive(Default)]
pub struct EmbeddedIdempotencyStore {
    state: Mutex<State>,
}

impl EmbeddedIdempotencyStore {
    /// An empty store.
    pub fn new() -> EmbeddedIdempotencyStore {
        EmbeddedIdempotencyStore::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many entries it holds (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn claim_now(&self, claim: Claim<'_>) -> ClaimOutcome {
        let mut state = self.state();
        match state.entries.get(claim.key).filter(|e| e.live_at(claim.now)) {
            Some(Entry::Completed { .. }) => return ClaimOutcome::Completed,
            Some(Entry::InProgress { until, .. }) => return ClaimOutcome::InProgress { until: *until },
            Some(Entry::Handled { .. }) | None => {}
        }
        let entry = Entry::InProgress {
            owner: claim.owner.to_owned(),
            until: claim.until,
        };
        state.put(claim.key, entry, claim.now);
        ClaimOutcome::Claimed
    }
}

impl IdempotencyStore for EmbeddedIdempotencyStore {
    fn claim<'a>(&'a self, claim: Claim<'a>) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(async move { Ok(self.claim_now(claim)) })
    }

    fn complete<'a>(&'a self, key: &'a str, keep_until: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let entry = Entry::Completed { until: keep_until };
            self.state().put(key, entry, SystemTime::now());
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut state = self.state();
            let ours = matches!(state.entries.get(key), Some(Entry::InProgress { owner: holder, .. }) if holder == owner);
            if ours {
                state.entries.remove(key);
            }
            Ok(())
        })
    }

    fn last_handled<'a>(
        &'a self,
        entities: &'a [String],
        now: SystemTime,
    ) -> BoxFuture<'a, Result<HashMap<String, OffsetDateTime>, StoreError>> {
        Box::pin(async move {
            let state = self.state();
            let found = entities
                .iter()
                .filter_map(|entity| match state.entries.get(entity) {
                    Some(Entry::Handled { occurred_at, until }) if *until > now => {
                        Some((entity.clone(), *occurred_at))
                    }
                    _ => None,
                })
                .collect();
            Ok(found)
        })
    }

    fn record_handled<'a>(
        &'a self,
        entity: &'a str,
        occurred_at: OffsetDateTime,
        now: SystemTime,
        keep_until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut state = self.state();
            let newer_recorded = matches!(
                state.entries.get(entity),
                Some(Entry::Handled { occurred_at: recorded, until }) if *until > now && *recorded > occurred_at
            );
            if !newer_recorded {
                let entry = Entry::Handled {
                    occurred_at,
                    until: keep_until,
                };
                state.put(entity, entry, now);
            }
            Ok(())
        })
    }
}
