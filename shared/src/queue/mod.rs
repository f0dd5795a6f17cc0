//! The queue side: the message format, how messages are packed into batch calls,
//! and delivery with retries inside a deadline, all behind the [`QueueSender`] port.

pub mod batch;
pub mod deliver;
pub mod message;

use std::future::Future;

pub use deliver::{Delivery, DeliveryError, deliver, deliver_all};
pub use message::OutboundMessage;

/// One entry of a `SendMessageBatch` call; `id` is unique within the call.
#[derive(Debug, Clone, Copy)]
pub struct BatchEntry<'a> {
    pub id: &'a str,
    pub message: &'a OutboundMessage,
}

/// What a batch call reported: the entries the queue took (with its message id)
/// and the ones it did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub queued: Vec<QueuedEntry>,
    pub failed: Vec<FailedEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEntry {
    pub id: String,
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    pub id: String,
    pub code: String,
    /// The queue says the entry itself is wrong: sending it again will not help.
    pub sender_fault: bool,
}

/// The whole call failed; `detail` is for logs only, never for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue call failed: {detail}")]
pub struct SendError {
    pub detail: String,
}

/// One message's new visibility timeout; `id` is unique within the call.
#[derive(Debug, Clone, Copy)]
pub struct VisibilityChange<'a> {
    pub id: &'a str,
    pub receipt_handle: &'a str,
    pub timeout: std::time::Duration,
}

/// The port for postponing received messages (the processor's backoff).
pub trait VisibilityChanger: Send + Sync {
    /// Answers the ids of the changes the queue did not apply.
    fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> impl Future<Output = Result<Vec<String>, SendError>> + Send + 'a;
}

/// The port every queue adapter implements: SQS for the Lambdas, an in-process
/// queue for the local server, fault-injecting wrappers in tests.
pub trait QueueSender: Send + Sync {
    fn send_batch<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> impl Future<Output = Result<BatchReport, SendError>> + Send + 'a;
}

impl<T: QueueSender> QueueSender for std::sync::Arc<T> {
    fn send_batch<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> impl Future<Output = Result<BatchReport, SendError>> + Send + 'a {
        (**self).send_batch(entries)
    }
}

impl<T: VisibilityChanger> VisibilityChanger for std::sync::Arc<T> {
    fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> impl Future<Output = Result<Vec<String>, SendError>> + Send + 'a {
        (**self).change_visibility(changes)
    }
}
