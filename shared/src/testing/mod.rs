//! Test support for this workspace: the fixtures in `tests/fixtures/` and
//! in-memory doubles of the queue, idempotency store and payload store ports
//! that fail on demand. Compiled for the crate's own tests and, with the
//! `testing` feature, for the integration tests.

pub mod answers;
pub mod bus;
pub mod model;
#[cfg(test)]
mod properties;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::Value;
use time::OffsetDateTime;

use crate::adapters::embedded::EmbeddedIdempotencyStore;
use crate::core::message::{OutboundMessage, PayloadLocation};
use crate::ports::idempotency::{Claim, ClaimOutcome, IdempotencyStore, StoreError};
use crate::ports::payload_store::{PayloadStore, PayloadStoreError};
use crate::ports::queue::{
    BatchEntry, BatchReport, FailedEntry, QueueError, QueueSender, QueuedEntry, VisibilityChange,
    VisibilityChanger,
};

/// The repository's `tests/fixtures`: request bodies and signature vectors.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A fixture's exact bytes.
pub fn fixture(relative: &str) -> Vec<u8> {
    let path = fixtures_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// The fixture files of one folder (`events-api`, `event-platform`), sorted, as
/// paths relative to the fixtures folder.
pub fn fixture_files(folder: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(fixtures_dir().join(folder))
        .unwrap_or_else(|e| panic!("cannot list fixtures in {folder}: {e}"))
        .map(|entry| {
            let name = entry.expect("directory entry").file_name();
            format!("{folder}/{}", name.to_string_lossy())
        })
        .filter(|file| file.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "fixtures missing in {folder}");
    files
}

/// One known-answer vector of `signatures.json`.
#[derive(Debug, Clone)]
pub struct SignatureVector {
    /// The vector as `signatures.json` holds it.
    pub json: Value,
}

impl SignatureVector {
    /// The text field `key`; panics when it is not text.
    pub fn text(&self, key: &str) -> &str {
        self.json[key]
            .as_str()
            .unwrap_or_else(|| panic!("vector field {key} is not text"))
    }

    /// The signed bytes: `body_file`'s exact bytes, or `body`.
    pub fn body(&self) -> Vec<u8> {
        match self.json.get("body_file") {
            Some(file) => fixture(file.as_str().expect("body_file is text")),
            None => self.text("body").as_bytes().to_vec(),
        }
    }
}

/// The vectors of one protocol (`events_api`, `event_platform`).
pub fn signature_vectors(protocol: &str) -> Vec<SignatureVector> {
    let all: Value = serde_json::from_slice(&fixture("signatures.json")).expect("signatures.json is JSON");
    all[protocol]
        .as_array()
        .unwrap_or_else(|| panic!("no {protocol} vectors"))
        .iter()
        .map(|json| SignatureVector { json: json.clone() })
        .collect()
}

/// How the in-memory queue answers each call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    /// Every entry is queued.
    Accept,
    /// The whole call fails.
    Unavailable,
    /// The first N calls fail the entry with this id, as SQS does under load.
    FailEntryTimes(&'static str, usize),
    /// Refuses entries for being malformed.
    RefuseAll,
    /// Never answers.
    Hang,
}

/// A queue that keeps what it is sent and fails as told.
pub struct MemoryQueue {
    behaviour: Behaviour,
    /// Every message queued, in order.
    pub messages: Mutex<Vec<OutboundMessage>>,
    /// Entries per call, in call order.
    pub calls: Mutex<Vec<usize>>,
}

impl MemoryQueue {
    /// An empty queue that answers as `behaviour` says.
    pub fn new(behaviour: Behaviour) -> MemoryQueue {
        MemoryQueue {
            behaviour,
            messages: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The bodies of the messages queued, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.messages
            .lock()
            .expect("lock")
            .iter()
            .map(|m| m.body.clone())
            .collect()
    }

    /// Entries per call, in call order.
    pub fn calls(&self) -> Vec<usize> {
        self.calls.lock().expect("lock").clone()
    }
}

impl QueueSender for MemoryQueue {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let call_number = {
            let mut calls = self.calls.lock().expect("lock");
            calls.push(entries.len());
            calls.len()
        };
        let mut report = BatchReport::default();
        for entry in entries {
            let fail = match self.behaviour {
                Behaviour::Accept => None,
                Behaviour::Unavailable => {
                    return Err(QueueError::Unavailable {
                        detail: "connection refused".into(),
                    });
                }
                Behaviour::Hang => std::future::pending().await,
                Behaviour::RefuseAll => Some(true),
                Behaviour::FailEntryTimes(id, times) => {
                    (entry.id == id && call_number <= times).then_some(false)
                }
            };
            // SQS refuses characters outside its set whatever else happens; moto does not.
            let message = entry.message;
            let contents_refused = !crate::core::message::sqs_text::is_sqs_text(&message.body)
                || message
                    .attributes
                    .iter()
                    .any(|(_, value)| !crate::core::message::sqs_text::is_sqs_text(value));
            if contents_refused {
                report.failed.push(FailedEntry {
                    id: entry.id.to_owned(),
                    code: "InvalidMessageContents".into(),
                    sender_fault: true,
                });
                continue;
            }
            match fail {
                Some(sender_fault) => report.failed.push(FailedEntry {
                    id: entry.id.to_owned(),
                    code: "InternalError".into(),
                    sender_fault,
                }),
                None => {
                    self.messages.lock().expect("lock").push(entry.message.clone());
                    report.queued.push(QueuedEntry {
                        id: entry.id.to_owned(),
                        message_id: format!("m-{}", entry.id),
                    });
                }
            }
        }
        Ok(report)
    }
}

/// Records visibility changes as (entry id, receipt handle, seconds).
#[derive(Default)]
pub struct MemoryVisibility {
    /// (entry id, receipt handle, seconds), in call order.
    pub changes: Mutex<Vec<(String, String, u64)>>,
}

impl MemoryVisibility {
    /// The changes recorded so far.
    pub fn changes(&self) -> Vec<(String, String, u64)> {
        self.changes.lock().expect("lock").clone()
    }
}

impl VisibilityChanger for MemoryVisibility {
    async fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> Result<Vec<String>, QueueError> {
        let mut recorded = self.changes.lock().expect("lock");
        for change in changes {
            recorded.push((
                change.id.to_owned(),
                change.receipt_handle.to_owned(),
                change.timeout.as_secs(),
            ));
        }
        Ok(Vec::new())
    }
}

/// An idempotency store in memory that can be taken down, slowed down, and
/// counts its calls: the embedded store behind switches.
#[derive(Default)]
pub struct SwitchableStore {
    /// The store behind the switches.
    pub inner: EmbeddedIdempotencyStore,
    /// Every call fails as unavailable while set.
    pub down: AtomicBool,
    /// Each call waits this long first (tests run on paused time).
    pub delay: Duration,
    /// `claim` calls made.
    pub claims: AtomicUsize,
    /// `last_handled` calls made.
    pub reads: AtomicUsize,
}

impl SwitchableStore {
    /// A store whose every call first waits `delay`.
    pub fn slow(delay: Duration) -> SwitchableStore {
        SwitchableStore {
            delay,
            ..SwitchableStore::default()
        }
    }

    /// Takes the store down (every call fails as unavailable) or back up.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The inner store's futures do nothing until polled, so a call made
    /// while down never reaches it.
    fn call<'a, T: Send + 'a>(
        &'a self,
        inner: BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("connection refused".into()));
            }
            inner.await
        })
    }
}

impl IdempotencyStore for SwitchableStore {
    fn claim<'a>(&'a self, claim: Claim<'a>) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        self.call(self.inner.claim(claim))
    }

    fn complete<'a>(&'a self, key: &'a str, keep_until: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
        self.call(self.inner.complete(key, keep_until))
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.call(self.inner.release(key, owner))
    }

    fn last_handled<'a>(
        &'a self,
        entities: &'a [String],
        now: SystemTime,
    ) -> BoxFuture<'a, Result<HashMap<String, OffsetDateTime>, StoreError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.call(self.inner.last_handled(entities, now))
    }

    fn record_handled<'a>(
        &'a self,
        entity: &'a str,
        occurred_at: OffsetDateTime,
        now: SystemTime,
        keep_until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.call(self.inner.record_handled(entity, occurred_at, now, keep_until))
    }
}

/// How the in-memory payload store answers each call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StoreBehaviour {
    /// Every call succeeds.
    Accept,
    /// The first N calls fail as unavailable.
    FailTimes(usize),
    /// Every call fails as unavailable.
    Unavailable,
    /// Never answers.
    Hang,
}

/// A payload store that keeps objects in memory and fails as told.
pub struct MemoryPayloads {
    behaviour: StoreBehaviour,
    objects: Mutex<std::collections::HashMap<String, Bytes>>,
    calls: Mutex<Vec<(&'static str, String)>>,
}

impl MemoryPayloads {
    /// The bucket its locations name.
    pub const BUCKET: &'static str = "memory";

    /// An empty store that answers as `behaviour` says.
    pub fn new(behaviour: StoreBehaviour) -> MemoryPayloads {
        MemoryPayloads {
            behaviour,
            objects: Mutex::new(std::collections::HashMap::new()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// An object's bytes, by key.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().expect("lock").get(key).map(|b| b.to_vec())
    }

    /// Stores an object directly, as if put earlier.
    pub fn insert(&self, key: &str, body: Bytes) -> PayloadLocation {
        self.objects.lock().expect("lock").insert(key.to_owned(), body);
        PayloadLocation {
            bucket: MemoryPayloads::BUCKET.into(),
            key: key.into(),
        }
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.objects.lock().expect("lock").len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys of every put call, in call order.
    pub fn put_keys(&self) -> Vec<String> {
        self.calls_of("put")
    }

    /// The keys of every delete call, in call order.
    pub fn deleted_keys(&self) -> Vec<String> {
        self.calls_of("delete")
    }

    fn calls_of(&self, operation: &str) -> Vec<String> {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|(op, _)| *op == operation)
            .map(|(_, key)| key.clone())
            .collect()
    }

    async fn answer(&self, operation: &'static str, key: &str) -> Result<(), PayloadStoreError> {
        let call_number = {
            let mut calls = self.calls.lock().expect("lock");
            calls.push((operation, key.to_owned()));
            calls.len()
        };
        match self.behaviour {
            StoreBehaviour::Accept => Ok(()),
            StoreBehaviour::FailTimes(times) if call_number > times => Ok(()),
            StoreBehaviour::FailTimes(_) | StoreBehaviour::Unavailable => {
                Err(PayloadStoreError::Unavailable {
                    detail: "connection refused".into(),
                })
            }
            StoreBehaviour::Hang => std::future::pending().await,
        }
    }
}

impl PayloadStore for MemoryPayloads {
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<PayloadLocation, PayloadStoreError>> {
        Box::pin(async move {
            self.answer("put", key).await?;
            Ok(self.insert(key, body))
        })
    }

    fn get<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<Bytes, PayloadStoreError>> {
        Box::pin(async move {
            self.answer("get", &location.key).await?;
            self.objects
                .lock()
                .expect("lock")
                .get(&location.key)
                .cloned()
                .ok_or_else(|| PayloadStoreError::NotFound(location.clone()))
        })
    }

    fn delete<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<(), PayloadStoreError>> {
        Box::pin(async move {
            self.answer("delete", &location.key).await?;
            self.objects.lock().expect("lock").remove(&location.key);
            Ok(())
        })
    }
}
