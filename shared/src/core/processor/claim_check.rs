//! Large events: before the batch is read, each pointer (a message carrying
//! the reserved size attribute) is resolved to the body it stands for, so the
//! business logic sees the same event, byte for byte, as for a small one. Once
//! such a message is done, its object is deleted (unless configured not to).
//!
//! - object missing: dead-lettered at once (`payload_missing`), as no retry
//!   brings it back; unless the idempotency store says the event was handled
//!   already (its object was deleted when it was done, and this is another
//!   delivery of it), which makes it a duplicate, done;
//! - store unavailable or slow: retried, like any transient failure;
//! - marked as a pointer but not one: dead-lettered (`invalid_pointer`).
//!
//! The dead letter keeps the pointer, so a redrive brings back a readable
//! message as long as the object lives.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use futures::{StreamExt, stream};
use tokio::time::timeout;
use tracing::{debug, warn};

use super::Disposition;
use super::batch::Verdict;
use crate::core::message::claim_check::announced_size;
use crate::core::message::{PayloadLocation, read_pointer};
use crate::ports::payload_store::{PayloadStore, PayloadStoreError};
use crate::ports::queue::ReceivedMessage;

/// How long fetching one large event may take before it counts as failed.
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// How long deleting one object may take; a failed delete is left to the
/// bucket's lifecycle rule.
const DELETE_TIMEOUT: Duration = Duration::from_secs(5);

/// The dead-letter `error_code` of a pointer whose object is gone.
pub const PAYLOAD_MISSING: &str = "payload_missing";

/// Where the processor reads large events from, and whether it deletes each
/// one once its message is done.
#[derive(Clone)]
pub struct Payloads {
    /// Where the bodies are.
    pub store: Arc<dyn PayloadStore>,
    /// Whether each object is deleted once its message is done.
    pub delete_when_done: bool,
}

enum Slot {
    /// An ordinary message: its own body is the envelope.
    Inline,
    /// A pointer, resolved.
    Fetched { location: PayloadLocation, body: String },
    /// A pointer that could not be resolved.
    Decided(Verdict),
}

/// A batch's bodies once every pointer is resolved.
pub struct Resolved {
    slots: Vec<Slot>,
}

/// Resolves the batch's pointers, up to `concurrency` at a time.
pub async fn resolve(
    payloads: Option<&Payloads>,
    messages: &[ReceivedMessage],
    concurrency: usize,
) -> Resolved {
    // Collected first: a closure held across the await would keep the Lambda
    // edge from proving the batch future Send.
    let resolving: Vec<_> = messages
        .iter()
        .map(|message| resolve_one(payloads, message))
        .collect();
    let slots = stream::iter(resolving)
        .buffered(concurrency.max(1))
        .collect()
        .await;
    Resolved { slots }
}

async fn resolve_one(payloads: Option<&Payloads>, message: &ReceivedMessage) -> Slot {
    let location = match read_pointer(message) {
        None => return Slot::Inline,
        Some(Ok(location)) => location,
        Some(Err(error)) => {
            return Slot::Decided(Verdict::DeadLetter {
                code: error.code().into(),
                message: error.to_string(),
            });
        }
    };
    let Some(payloads) = payloads else {
        return Slot::Decided(Verdict::Retry(format!(
            "the message points to a large event at {location}, and this processor has no payload store"
        )));
    };
    let fetched = match timeout(FETCH_TIMEOUT, payloads.store.get(&location)).await {
        Ok(fetched) => fetched,
        Err(_) => {
            let reason = format!("fetching the large event at {location} timed out");
            warn!(
                message_id = message.message_id.as_str(),
                reason, "large event not fetched"
            );
            return Slot::Decided(Verdict::Retry(reason));
        }
    };
    let verdict = match fetched {
        Ok(bytes) => match String::from_utf8(Vec::from(bytes)) {
            Ok(body) => {
                if announced_size(message).is_some_and(|size| size != body.len()) {
                    warn!(
                        message_id = message.message_id.as_str(),
                        payload = %location,
                        bytes = body.len(),
                        announced = announced_size(message),
                        "large event's size differs from its pointer's"
                    );
                }
                debug!(message_id = message.message_id.as_str(), payload = %location, bytes = body.len(), "large event fetched");
                return Slot::Fetched { location, body };
            }
            Err(_) => Verdict::DeadLetter {
                code: "invalid_envelope".into(),
                message: format!("the large event stored at {location} is not UTF-8 text"),
            },
        },
        Err(PayloadStoreError::NotFound(_)) => Verdict::DeadLetter {
            code: PAYLOAD_MISSING.into(),
            message: format!(
                "the large event's body is no longer at {location}: it expired, or another delivery of \
                 this message was processed and deleted it"
            ),
        },
        Err(error @ PayloadStoreError::Invalid { .. }) => Verdict::DeadLetter {
            code: "invalid_pointer".into(),
            message: error.to_string(),
        },
        Err(error @ PayloadStoreError::Unavailable { .. }) => Verdict::Retry(error.to_string()),
    };
    let reason = match &verdict {
        Verdict::Retry(reason) | Verdict::DeadLetter { message: reason, .. } => reason.as_str(),
        Verdict::Done => "",
    };
    warn!(message_id = message.message_id.as_str(), payload = %location, reason, "large event not fetched");
    Slot::Decided(verdict)
}

impl Resolved {
    /// The messages whose object was missing (decided `payload_missing`).
    pub fn missing(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| {
                matches!(slot, Slot::Decided(Verdict::DeadLetter { code, .. }) if code == PAYLOAD_MISSING)
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// Where each message's large event is stored, for the ones that were
    /// pointers and were fetched.
    pub fn locations(&self) -> impl Iterator<Item = (usize, &PayloadLocation)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match slot {
                Slot::Fetched { location, .. } => Some((index, location)),
                _ => None,
            })
    }

    /// Each message's envelope text in batch order: its own body, the fetched
    /// one, or the verdict already reached.
    pub fn bodies<'a>(
        &'a self,
        messages: &'a [ReceivedMessage],
    ) -> impl Iterator<Item = Result<Option<&'a str>, Verdict>> + 'a {
        self.slots.iter().zip(messages).map(|(slot, message)| match slot {
            Slot::Inline => Ok(message.body.as_deref()),
            Slot::Fetched { body, .. } => Ok(Some(body.as_str())),
            Slot::Decided(verdict) => Err(verdict.clone()),
        })
    }

    /// Deletes the object of every large event whose message is done. Anything
    /// else keeps its object: a retry or a redrive from the dead-letter queue
    /// will need it. A failed delete is only logged; the lifecycle rule expires
    /// the object later.
    pub async fn release(&self, payloads: Option<&Payloads>, dispositions: &[Disposition]) {
        let Some(payloads) = payloads.filter(|p| p.delete_when_done) else {
            return;
        };
        let deletes = self
            .slots
            .iter()
            .zip(dispositions)
            .filter_map(|(slot, disposition)| match (slot, disposition) {
                (Slot::Fetched { location, .. }, Disposition::Done) => Some(location),
                _ => None,
            })
            .map(|location| async move {
                match timeout(DELETE_TIMEOUT, payloads.store.delete(location)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        warn!(payload = %location, reason = %error, "large event's object not deleted; its lifecycle rule will")
                    }
                    Err(_) => {
                        warn!(payload = %location, "deleting a large event's object timed out; its lifecycle rule will")
                    }
                }
            });
        join_all(deletes).await;
    }
}
