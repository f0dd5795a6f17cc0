//! Packing messages into `SendMessageBatch` calls.

use super::OutboundMessage;
use super::message::SQS_MAX_MESSAGE_BYTES;

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
    fn packs_ten_entries_per_call_in_order() {
        let messages: Vec<_> = (0..25).map(|_| message_of(100)).collect();
        let all: Vec<usize> = (0..25).collect();
        let batches = pack(&messages, &all);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(batches.concat(), all);
    }

    #[test]
    fn starts_a_new_call_before_one_would_pass_one_mebibyte() {
        let messages = vec![
            message_of(600_000),
            message_of(448_576),
            message_of(1),
            message_of(SQS_MAX_MESSAGE_BYTES),
        ];
        let batches = pack(&messages, &[0, 1, 2, 3]);
        assert_eq!(batches, vec![vec![0, 1], vec![2], vec![3]]);
        for batch in &batches {
            assert!(batch.iter().map(|&i| messages[i].sqs_size()).sum::<usize>() <= SQS_MAX_MESSAGE_BYTES);
        }
    }

    #[test]
    fn packs_only_the_given_indices() {
        let messages: Vec<_> = (0..5).map(|_| message_of(1)).collect();
        assert_eq!(pack(&messages, &[1, 4]), vec![vec![1, 4]]);
        assert!(pack(&messages, &[]).is_empty());
    }
}
