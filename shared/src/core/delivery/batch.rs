//! Packing messages into `SendMessageBatch` calls.

use crate::core::message::{OutboundMessage, SQS_MAX_MESSAGE_BYTES};

/// SQS takes at most ten entries per `SendMessageBatch` call.
pub const SQS_MAX_BATCH_ENTRIES: usize = 10;

/// Groups message indices into calls of at most ten entries and 1 MiB in all,
/// keeping the request's order. Each message must fit on its own (callers refuse
/// oversized events before this).
pub fn pack(messages: &[OutboundMessage], indices: &[usize]) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = 0;
    for &index in indices {
        let size = messages[index].sqs_size();
        let full = current.len() == SQS_MAX_BATCH_ENTRIES || current_bytes + size > SQS_MAX_MESSAGE_BYTES;
        if full && !current.is_empty() {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(index);
        current_bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_of(bytes: usize) -> OutboundMessage {
        OutboundMessage {
            body: "x".repeat(bytes),
            attributes: vec![],
            event_id: None,
            event_type: None,
        }
    }

    #[test]
    fn ten_entries_go_in_one_call_in_order() {
        // GIVEN 25 small messages
        let messages: Vec<_> = (0..25).map(|_| message_of(100)).collect();
        let all: Vec<usize> = (0..25).collect();
        // WHEN they are packed
        let batches = pack(&messages, &all);
        // THEN they fill calls of ten, in order
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(batches.concat(), all);
    }

    #[test]
    fn a_new_call_starts_before_one_would_pass_one_mebibyte() {
        // GIVEN messages whose sizes add up past 1 MiB
        let messages = vec![
            message_of(600_000),
            message_of(448_576),
            message_of(1),
            message_of(SQS_MAX_MESSAGE_BYTES),
        ];
        // WHEN they are packed
        let batches = pack(&messages, &[0, 1, 2, 3]);
        // THEN no call passes the limit
        assert_eq!(batches, vec![vec![0, 1], vec![2], vec![3]]);
        for batch in &batches {
            assert!(batch.iter().map(|&i| messages[i].sqs_size()).sum::<usize>() <= SQS_MAX_MESSAGE_BYTES);
        }
    }

    #[test]
    fn only_the_given_indices_are_packed() {
        // GIVEN five messages of which two are still to send
        let messages: Vec<_> = (0..5).map(|_| message_of(1)).collect();
        // WHEN those two are packed, and then none
        // THEN only they go, and nothing gives no call
        assert_eq!(pack(&messages, &[1, 4]), vec![vec![1, 4]]);
        assert!(pack(&messages, &[]).is_empty());
    }
}
