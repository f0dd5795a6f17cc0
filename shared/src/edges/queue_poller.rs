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
    pub processed: AtomicU64,
    pub retried: AtomicU64,
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
) -> Result<usize, QueueError>
where
    S: QueueReceiver,
    H: EventHandler,
    D: QueueSender,
    V: VisibilityChanger,
{
    let records = source.receive(batch_size, wait).await?;
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
    source.delete(&succeeded).await?;
    Ok(records.len())
}
