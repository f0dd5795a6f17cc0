//! Fixtures and an in-memory queue for the unit tests.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::queue::{
    BatchEntry, BatchReport, FailedEntry, OutboundMessage, QueueSender, QueuedEntry, SendError,
};

/// `../shared/fixtures` beside the project: the wire contract's test data.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

pub fn fixture(relative: &str) -> Vec<u8> {
    let path = fixtures_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

pub fn signature_vectors() -> serde_json::Value {
    serde_json::from_slice(&fixture("signatures.json")).expect("signatures.json is JSON")
}

/// How the in-memory queue answers each call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    Accept,
    /// The whole call fails.
    Unavailable,
    /// The first N calls fail the entry with this id, as SQS does under load.
    FailEntryTimes(&'static str, usize),
    /// Refuses entries for being malformed.
    RefuseAll,
    Hang,
}

pub struct MemoryQueue {
    behaviour: Behaviour,
    pub messages: Mutex<Vec<OutboundMessage>>,
    pub calls: Mutex<Vec<usize>>,
}

impl MemoryQueue {
    pub fn new(behaviour: Behaviour) -> MemoryQueue {
        MemoryQueue {
            behaviour,
            messages: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
        }
    }

    pub fn bodies(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.body.clone())
            .collect()
    }
}

impl QueueSender for MemoryQueue {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, SendError> {
        let call_number = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(entries.len());
            calls.len()
        };
        let mut report = BatchReport::default();
        for entry in entries {
            let fail = match self.behaviour {
                Behaviour::Accept => None,
                Behaviour::Unavailable => {
                    return Err(SendError {
                        detail: "connection refused".into(),
                    });
                }
                Behaviour::Hang => std::future::pending().await,
                Behaviour::RefuseAll => Some(true),
                Behaviour::FailEntryTimes(id, times) => {
                    (entry.id == id && call_number <= times).then_some(false)
                }
            };
            match fail {
                Some(sender_fault) => report.failed.push(FailedEntry {
                    id: entry.id.to_owned(),
                    code: "InternalError".into(),
                    sender_fault,
                }),
                None => {
                    self.messages.lock().unwrap().push(entry.message.clone());
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

/// Records visibility changes (id, receipt handle, seconds).
#[derive(Default)]
pub struct MemoryVisibility {
    pub changes: Mutex<Vec<(String, String, u64)>>,
}

impl crate::queue::VisibilityChanger for MemoryVisibility {
    async fn change_visibility<'a>(
        &'a self,
        changes: &'a [crate::queue::VisibilityChange<'a>],
    ) -> Result<Vec<String>, SendError> {
        let mut recorded = self.changes.lock().unwrap();
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
