//! Getting every message onto the queue before a deadline: packed into batch
//! calls, sent in parallel, failed entries sent again while time remains; and
//! large events' bodies into the payload store first ([`offload`]).

pub mod batch;
pub mod offload;

use std::time::Duration;

use futures::future::join_all;
use tokio::time::{Instant, sleep, timeout_at};

use crate::core::message::OutboundMessage;
use crate::ports::queue::{BatchEntry, QueueSender};
use batch::pack;

const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// An attempt shorter than this cannot complete a round trip to SQS.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// Some messages were not queued before the deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{undelivered} of {total} messages not queued after {attempts} attempts \
     ({refused} refused by the queue); last error: {last_error}"
)]
pub struct DeliveryError {
    /// Messages not queued.
    pub undelivered: usize,
    /// Of those, the ones the queue refused as wrong (not retried).
    pub refused: usize,
    /// Messages in all.
    pub total: usize,
    /// Rounds of batch calls made.
    pub attempts: u32,
    /// The last failure, for logs.
    pub last_error: String,
}

/// What a delivery achieved, message by message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The queue's message id for each message, in order; `None` if not queued.
    pub message_ids: Vec<Option<String>>,
    /// Messages the queue refused as wrong (not retried).
    pub refused: usize,
    /// Rounds of batch calls made.
    pub attempts: u32,
    /// The last failure, for logs.
    pub last_error: String,
}

/// Sends every message, or fails with what could not be queued. See [`deliver`].
pub async fn deliver_all<Q: QueueSender>(
    queue: &Q,
    messages: &[OutboundMessage],
    deadline: Instant,
) -> Result<Vec<String>, DeliveryError> {
    let delivery = deliver(queue, messages, deadline).await;
    let undelivered = delivery.message_ids.iter().filter(|id| id.is_none()).count();
    if undelivered == 0 {
        return Ok(delivery.message_ids.into_iter().flatten().collect());
    }
    Err(DeliveryError {
        undelivered,
        refused: delivery.refused,
        total: messages.len(),
        attempts: delivery.attempts,
        last_error: delivery.last_error,
    })
}

/// Sends every message, the batch calls of one round in parallel, and sends
/// again what failed while time remains. Each round may use at most half of the
/// time left, so a hung connection still leaves room for another try.
/// A message may be queued twice (a call that timed out may still have landed):
/// consumers dedupe on the event id.
pub async fn deliver<Q: QueueSender>(queue: &Q, messages: &[OutboundMessage], deadline: Instant) -> Delivery {
    let entry_ids: Vec<String> = (0..messages.len()).map(|i| i.to_string()).collect();
    let mut message_ids: Vec<Option<String>> = vec![None; messages.len()];
    let mut refused = vec![false; messages.len()];
    let mut pending: Vec<usize> = (0..messages.len()).collect();
    let mut attempts = 0;
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = String::from("no attempt fitted in the time left");

    while !pending.is_empty() {
        let now = Instant::now();
        if now + MIN_ATTEMPT > deadline {
            break;
        }
        attempts += 1;
        let round_deadline = now + ((deadline - now) / 2).max(MIN_ATTEMPT);
        let calls = pack(messages, &pending).into_iter().map(|batch| {
            let entry_ids = &entry_ids;
            async move {
                let entries: Vec<BatchEntry<'_>> = batch
                    .iter()
                    .map(|&i| BatchEntry {
                        id: &entry_ids[i],
                        message: &messages[i],
                    })
                    .collect();
                let outcome = timeout_at(round_deadline, queue.send_batch(&entries)).await;
                (batch, outcome)
            }
        });

        for (batch, outcome) in join_all(calls).await {
            match outcome {
                Err(_) => last_error = String::from("queue call timed out"),
                Ok(Err(error)) => last_error = error.to_string(),
                Ok(Ok(report)) => {
                    for queued in report.queued {
                        if let Some(slot) = entry_index(&queued.id, &batch) {
                            message_ids[slot] = Some(queued.message_id);
                        }
                    }
                    for failed in report.failed {
                        if let Some(slot) = entry_index(&failed.id, &batch) {
                            refused[slot] |= failed.sender_fault;
                            last_error = format!("entry failed with {}", failed.code);
                        }
                    }
                }
            }
        }
        pending.retain(|&i| message_ids[i].is_none() && !refused[i]);

        if !pending.is_empty() {
            if Instant::now() + backoff + MIN_ATTEMPT > deadline {
                break;
            }
            sleep(backoff).await;
            backoff *= 2;
        }
    }

    Delivery {
        message_ids,
        refused: refused.iter().filter(|&&r| r).count(),
        attempts,
        last_error,
    }
}

/// Maps a reported entry id back to a message index, ignoring ids the call did
/// not contain (an adapter bug must not mark another message as queued).
fn entry_index(id: &str, batch: &[usize]) -> Option<usize> {
    let index = id.parse::<usize>().ok()?;
    batch.contains(&index).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Behaviour, MemoryQueue};

    fn messages(count: usize) -> Vec<OutboundMessage> {
        (0..count)
            .map(|i| OutboundMessage {
                body: format!("m{i}"),
                attributes: vec![],
                event_id: None,
                event_type: None,
            })
            .collect()
    }

    fn budget() -> Instant {
        Instant::now() + Duration::from_millis(400)
    }

    #[tokio::test(start_paused = true)]
    async fn batches_go_out_in_parallel_and_the_message_ids_come_back_in_order() {
        // GIVEN a queue that takes everything
        let queue = MemoryQueue::new(Behaviour::Accept);
        // WHEN 23 messages are delivered
        let ids = deliver_all(&queue, &messages(23), budget())
            .await
            .expect("delivered");
        // THEN three calls carried them and the ids follow the messages' order
        assert_eq!(ids.len(), 23);
        assert_eq!((ids[0].as_str(), ids[22].as_str()), ("m-0", "m-22"));
        assert_eq!(queue.calls(), [10, 10, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_entries_the_queue_failed_are_sent_again() {
        // GIVEN a queue that fails entry 3 on its first two calls
        let queue = MemoryQueue::new(Behaviour::FailEntryTimes("3", 2));
        // WHEN five messages are delivered
        let ids = deliver_all(&queue, &messages(5), budget())
            .await
            .expect("delivered");
        // THEN the failed entry alone was resent until it was queued
        assert_eq!(ids.len(), 5);
        assert_eq!(queue.calls(), [5, 1, 1]);
        assert_eq!(queue.bodies(), ["m0", "m1", "m2", "m4", "m3"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unavailable_queue_fails_by_the_deadline_after_several_attempts() {
        // GIVEN a queue that refuses every call
        let queue = MemoryQueue::new(Behaviour::Unavailable);
        let started = Instant::now();
        // WHEN three messages are delivered within 400 ms
        let error = deliver_all(&queue, &messages(3), budget())
            .await
            .expect_err("not delivered");
        // THEN it gives up in time, having tried several times, and says why
        assert!(started.elapsed() <= Duration::from_millis(400));
        assert_eq!(error.undelivered, 3);
        assert!(error.attempts >= 3, "{error}");
        assert_eq!(error.last_error, "queue unavailable: connection refused");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_queue_is_abandoned_by_the_deadline_after_a_second_try() {
        // GIVEN a queue that never answers
        let queue = MemoryQueue::new(Behaviour::Hang);
        let started = Instant::now();
        // WHEN a message is delivered within 400 ms
        let error = deliver_all(&queue, &messages(1), budget())
            .await
            .expect_err("not delivered");
        // THEN the first attempt was cut short so a second one fitted
        assert!(
            started.elapsed() <= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
        assert!(error.attempts >= 2, "{error}");
        assert_eq!(error.last_error, "queue call timed out");
    }

    #[tokio::test(start_paused = true)]
    async fn entries_the_queue_calls_malformed_are_not_sent_again() {
        // GIVEN a queue that refuses entries as the sender's fault
        let queue = MemoryQueue::new(Behaviour::RefuseAll);
        // WHEN two messages are delivered
        let error = deliver_all(&queue, &messages(2), budget())
            .await
            .expect_err("not delivered");
        // THEN one attempt was made and both are counted as refused
        assert_eq!((error.refused, error.attempts), (2, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_to_send_is_delivered_at_once() {
        // GIVEN a queue that would refuse any call
        let queue = MemoryQueue::new(Behaviour::Unavailable);
        // WHEN nothing is delivered
        let delivered = deliver_all(&queue, &[], budget()).await;
        // THEN it succeeds without a call
        assert_eq!(delivered, Ok(vec![]));
        assert!(queue.calls().is_empty());
    }
}
