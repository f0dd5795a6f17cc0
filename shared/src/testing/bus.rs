//! An in-memory event bus that records every call and fails on demand: the
//! stand-in for EventBridge in the publisher's tests and benchmark.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use crate::core::destination::bus::{BusEntry, EntryResult};
use crate::ports::event_bus::{BusError, EventBus};

/// An in-memory [`EventBus`] that records every call and fails on demand.
#[derive(Default)]
pub struct RecordingBus {
    calls: Mutex<Vec<Vec<BusEntry>>>,
    /// Per `detail_type`: how many more times its entry fails, and with which code.
    failing: Mutex<HashMap<String, (usize, String)>>,
    /// Whole calls to refuse, from the next one.
    refused_calls: Mutex<usize>,
}

impl RecordingBus {
    /// A bus that takes every entry.
    pub fn new() -> RecordingBus {
        RecordingBus::default()
    }

    /// Entries of this type fail `times` times with `code`, then go through.
    pub fn fail_entries(&self, detail_type: &str, times: usize, code: &str) {
        lock(&self.failing).insert(detail_type.to_owned(), (times, code.to_owned()));
    }

    /// The next `calls` calls fail as a whole.
    pub fn refuse_calls(&self, calls: usize) {
        *lock(&self.refused_calls) = calls;
    }

    /// Every call made, with its entries.
    pub fn calls(&self) -> Vec<Vec<BusEntry>> {
        lock(&self.calls).clone()
    }

    /// Every entry sent, published or not, in order.
    pub fn sent(&self) -> Vec<BusEntry> {
        lock(&self.calls).iter().flatten().cloned().collect()
    }

    fn answer(&self, entries: &[BusEntry]) -> Result<Vec<EntryResult>, BusError> {
        lock(&self.calls).push(entries.to_vec());
        {
            let mut refused = lock(&self.refused_calls);
            if *refused > 0 {
                *refused -= 1;
                return Err(BusError {
                    detail: "ThrottlingException: rate exceeded".into(),
                });
            }
        }
        let mut failing = lock(&self.failing);
        Ok(entries
            .iter()
            .map(|entry| match failing.get_mut(&entry.detail_type) {
                Some((times, code)) if *times > 0 => {
                    *times -= 1;
                    EntryResult::Failed {
                        code: code.clone(),
                        message: "injected".into(),
                    }
                }
                _ => EntryResult::Published,
            })
            .collect())
    }
}

impl EventBus for RecordingBus {
    fn put_events<'a>(
        &'a self,
        entries: &'a [BusEntry],
    ) -> BoxFuture<'a, Result<Vec<EntryResult>, BusError>> {
        Box::pin(std::future::ready(self.answer(entries)))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A bus that takes everything and only counts: for benchmarks, where keeping
/// every entry would measure the recorder.
#[derive(Default)]
pub struct CountingBus {
    calls: std::sync::atomic::AtomicU64,
    entries: std::sync::atomic::AtomicU64,
}

impl CountingBus {
    /// Calls made and entries sent so far.
    pub fn counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.calls.load(Relaxed), self.entries.load(Relaxed))
    }
}

impl EventBus for CountingBus {
    fn put_events<'a>(
        &'a self,
        entries: &'a [BusEntry],
    ) -> BoxFuture<'a, Result<Vec<EntryResult>, BusError>> {
        use std::sync::atomic::Ordering::Relaxed;
        self.calls.fetch_add(1, Relaxed);
        self.entries.fetch_add(entries.len() as u64, Relaxed);
        Box::pin(std::future::ready(Ok(vec![
            EntryResult::Published;
            entries.len()
        ])))
    }
}
