//! The queue ports: sending batches, receiving and deleting, changing
//! visibility; and the one received-message type every consumer shares (the
//! Lambda SQS edge, the local poller, the SQS and embedded adapters).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::core::message::OutboundMessage;

/// One received message, as SQS (or Lambda's event source mapping, or the
/// embedded queue) hands it over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The queue's id of the message.
    pub message_id: String,
    /// The handle to delete it or change its visibility with, for this receive.
    pub receipt_handle: Option<String>,
    /// Its body, if the receive gave one.
    pub body: Option<String>,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// Message attributes with a text value (`protocol`, `type`, `id`, and a
    /// large event's Number `ExtendedPayloadSize`, as its digits).
    pub attributes: HashMap<String, String>,
}

impl ReceivedMessage {
    /// From what a receive answers, whichever API: a missing or unreadable
    /// receive count counts as a first delivery; only attributes with a text
    /// value (String and Number) are kept.
    pub fn received(
        message_id: Option<String>,
        receipt_handle: Option<String>,
        body: Option<String>,
        receive_count: Option<&String>,
        attributes: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> ReceivedMessage {
        ReceivedMessage {
            message_id: message_id.unwrap_or_default(),
            receipt_handle,
            body,
            receive_count: receive_count.and_then(|count| count.parse().ok()).unwrap_or(1),
            attributes: attributes
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect(),
        }
    }

    /// The text value of the attribute `name`, if set.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }
}

/// One entry of a `SendMessageBatch` call; `id` is unique within the call.
#[derive(Debug, Clone, Copy)]
pub struct BatchEntry<'a> {
    /// The entry's id within the call.
    pub id: &'a str,
    /// The message to send.
    pub message: &'a OutboundMessage,
}

/// What a batch call reported: the entries the queue took (with its message id)
/// and the ones it did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// The entries the queue took.
    pub queued: Vec<QueuedEntry>,
    /// The entries it did not.
    pub failed: Vec<FailedEntry>,
}

/// An entry the queue took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEntry {
    /// The entry's id within the call.
    pub id: String,
    /// The queue's id of the new message.
    pub message_id: String,
}

/// An entry the queue did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedEntry {
    /// The entry's id within the call.
    pub id: String,
    /// The queue's error code (`InternalError`, `InvalidMessageContents`, ...).
    pub code: String,
    /// The queue says the entry itself is wrong: sending it again will not help.
    pub sender_fault: bool,
}

/// One message's new visibility timeout; `id` is unique within the call.
#[derive(Debug, Clone, Copy)]
pub struct VisibilityChange<'a> {
    /// The entry's id within the call.
    pub id: &'a str,
    /// The message's receipt handle.
    pub receipt_handle: &'a str,
    /// How long it stays invisible from now (SQS takes whole seconds, up to
    /// 12 hours).
    pub timeout: Duration,
}

/// A whole queue call failed. The detail is for logs only, never for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The call did not go through (network, throttling, a 5xx, a timeout):
    /// trying again later may work.
    #[error("queue unavailable: {detail}")]
    Unavailable {
        /// What failed, for logs.
        detail: String,
    },
    /// The request could not be built or was refused as a whole: trying again
    /// unchanged will not work.
    #[error("queue request invalid: {detail}")]
    Invalid {
        /// What was refused, and why.
        detail: String,
    },
}

/// Sends messages: SQS for the Lambdas, the embedded queue for local runs.
pub trait QueueSender: Send + Sync {
    /// Sends one `SendMessageBatch` call's entries (at most ten, 1 MiB in all);
    /// answers which were queued and which were not.
    fn send_batch<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> impl Future<Output = Result<BatchReport, QueueError>> + Send + 'a;
}

/// Receives and deletes messages, for pollers that play Lambda's event source
/// mapping.
pub trait QueueReceiver: Send + Sync {
    /// Up to `max` messages, waiting up to `wait` for the first (long polling).
    fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<ReceivedMessage>, QueueError>> + Send;
    /// Deletes the received messages with these receipt handles.
    fn delete(&self, receipt_handles: &[&str]) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// Postpones received messages (the processor's backoff).
pub trait VisibilityChanger: Send + Sync {
    /// Answers the ids of the changes the queue did not apply.
    fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> impl Future<Output = Result<Vec<String>, QueueError>> + Send + 'a;
}

impl<T: QueueSender> QueueSender for Arc<T> {
    fn send_batch<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> impl Future<Output = Result<BatchReport, QueueError>> + Send + 'a {
        (**self).send_batch(entries)
    }
}

impl<T: QueueReceiver> QueueReceiver for Arc<T> {
    fn receive(
        &self,
        max: usize,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<ReceivedMessage>, QueueError>> + Send {
        (**self).receive(max, wait)
    }

    fn delete(&self, receipt_handles: &[&str]) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).delete(receipt_handles)
    }
}

impl<T: VisibilityChanger> VisibilityChanger for Arc<T> {
    fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> impl Future<Output = Result<Vec<String>, QueueError>> + Send + 'a {
        (**self).change_visibility(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_received_message_without_a_readable_receive_count_is_a_first_delivery() {
        // GIVEN a receive answer whose count is not a number
        let garbled = String::from("many");
        // WHEN it becomes a received message
        let message = ReceivedMessage::received(Some("m1".into()), None, None, Some(&garbled), []);
        // THEN it counts as the first delivery
        assert_eq!((message.message_id.as_str(), message.receive_count), ("m1", 1));
    }

    #[test]
    fn only_string_attributes_are_kept() {
        // GIVEN one string and one binary attribute
        let attributes = [
            ("id".to_owned(), Some("e-1".to_owned())),
            ("blob".to_owned(), None),
        ];
        // WHEN the message is built
        let message = ReceivedMessage::received(None, None, None, None, attributes);
        // THEN only the string one is there
        assert_eq!(
            message.attributes,
            HashMap::from([("id".to_owned(), "e-1".to_owned())])
        );
    }
}

/// A [`QueueSender`] that can sit behind a pointer (`Arc<dyn …>`), for
/// parts that hold whichever queue the edge gives them (the processor's
/// catch-up jobs). Every `QueueSender` is one.
pub trait DynQueueSender: Send + Sync {
    /// [`QueueSender::send_batch`], boxed.
    fn send_batch_boxed<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> futures::future::BoxFuture<'a, Result<BatchReport, QueueError>>;
}

impl<T: QueueSender> DynQueueSender for T {
    fn send_batch_boxed<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> futures::future::BoxFuture<'a, Result<BatchReport, QueueError>> {
        Box::pin(self.send_batch(entries))
    }
}

/// Any queue, shared.
#[derive(Clone)]
pub struct SharedQueue(pub Arc<dyn DynQueueSender>);

impl QueueSender for SharedQueue {
    fn send_batch<'a>(
        &'a self,
        entries: &'a [BatchEntry<'a>],
    ) -> impl Future<Output = Result<BatchReport, QueueError>> + Send + 'a {
        self.0.send_batch_boxed(entries)
    }
}
