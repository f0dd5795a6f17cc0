//! What Lambda's SQS event source mapping does, for local runs: receive a batch,
//! hand it to the processor, delete what succeeded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::core::processor::{Disposition, Processor};
use crate::ports::handler::EventHandler;
use crate::ports::queue::{QueueError, QueueReceiver, QueueSender, VisibilityChanger};

/// Running totals of what the processor did.
#[derive(Debug, Default)]
pub struct PollStats {
    /// Messages done (deleted).
    pub processed: AtomicU64,
    /// Messages left for a later receive.
    pub retried: AtomicU64,
    /// Messages sent to the dead-letter queue.
    pub dead_lettered: AtomicU64,
}

impl PollStats {
    fn count(&self, dispositions: &[Disposition]) {
        for disposition in dispositions {
            let counter = match disposition {
                Disposition::Done => &self.processed,
                Disposition::Retried { .. } | Disposition::DeadLetterFailed { .. } => &self.retried,
                Disposition::DeadLettered { .. } => &self.dead_lettered,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Past its wait time by this much, a poll has stalled; a delete gets as long.
/// Adapters have their own timeouts (SQS's are shorter); this one holds for any.
pub const STALL_MARGIN: Duration = Duration::from_secs(10);

/// Why a poll round stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// A receive or a delete failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The call neither answered nor failed: the poller gives up on it so that
    /// processing (and shutdown) go on; the messages come back after their
    /// visibility timeout.
    #[error("the queue did not answer a {call} within {} s (stalled)", after.as_secs())]
    Stalled {
        /// `poll` or `delete`.
        call: &'static str,
        /// How long it was given.
        after: Duration,
    },
}

/// One receive-process-delete round; answers how many messages it handled.
/// `run_for` plays the Lambda timeout: the batch's deadline, when its claims
/// on events expire. The queue's visibility timeout is the sensible value: a
/// message not deleted by then is received again anyway.
pub async fn poll_once<S, H, D, V>(
    source: &S,
    processor: &Processor<H, D, V>,
    batch_size: usize,
    wait: Duration,
    run_for: Duration,
    stats: &PollStats,
) -> Result<usize, PollError>
where
    S: QueueReceiver,
    H: EventHandler,
    D: QueueSender,
    V: VisibilityChanger,
{
    let after = wait + STALL_MARGIN;
    let records = tokio::time::timeout(after, source.receive(batch_size, wait))
        .await
        .map_err(|_| PollError::Stalled { call: "poll", after })??;
    if records.is_empty() {
        return Ok(0);
    }
    let deadline = SystemTime::now() + run_for;
    let dispositions = processor.process_batch_until(&records, deadline).await;
    stats.count(&dispositions);
    let succeeded: Vec<&str> = records
        .iter()
        .zip(&dispositions)
        .filter(|(_, disposition)| !disposition.is_failure())
        .filter_map(|(record, _)| record.receipt_handle.as_deref())
        .collect();
    tokio::time::timeout(STALL_MARGIN, source.delete(&succeeded))
        .await
        .map_err(|_| PollError::Stalled {
            call: "delete",
            after: STALL_MARGIN,
        })??;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::processor::Settings;
    use crate::ports::handler::Outcome;
    use crate::ports::queue::ReceivedMessage;
    use crate::testing::{Behaviour, MemoryQueue, MemoryVisibility};

    /// A queue whose polls never answer, as a half-open connection behaves.
    struct HungSource;

    impl QueueReceiver for HungSource {
        async fn receive(&self, _: usize, _: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
            std::future::pending().await
        }
        async fn delete(&self, _: &[&str]) -> Result<(), QueueError> {
            Ok(())
        }
    }

    struct Nothing;

    impl EventHandler for Nothing {
        async fn handle(&self, _: &crate::core::event::PimEvent) -> Outcome {
            Outcome::Done
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_that_never_answers_is_given_up_as_stalled() {
        // GIVEN a source whose polls hang
        let processor = Processor::new(
            Nothing,
            MemoryQueue::new(Behaviour::Accept),
            MemoryVisibility::default(),
            Settings::default(),
        );
        let started = tokio::time::Instant::now();
        // WHEN it is polled with a one-second wait
        let outcome = poll_once(
            &HungSource,
            &processor,
            10,
            Duration::from_secs(1),
            Duration::from_secs(30),
            &PollStats::default(),
        )
        .await;
        // THEN the poll fails as stalled once its wait and the margin have passed
        let error = outcome.expect_err("stalled");
        assert!(
            matches!(error, PollError::Stalled { call: "poll", .. }),
            "{error}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1) + STALL_MARGIN);
        assert_eq!(
            error.to_string(),
            "the queue did not answer a poll within 11 s (stalled)"
        );
    }
}
