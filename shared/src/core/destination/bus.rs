//! EventBridge's rules, as the publisher needs them: what one entry weighs,
//! how entries are grouped into `PutEvents` calls, and which failed entries
//! are worth sending again.

use std::ops::Range;

use super::detail::SOURCE;

/// Entries in one `PutEvents` call, at most.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// The largest entry, and the largest call, EventBridge takes: 1 MB since
/// January 2026 (256 KB before). `EVENT_BUS_ENTRY_LIMIT` lowers it for a bus
/// that still has the old limit.
pub const ENTRY_LIMIT_BYTES: usize = 1_048_576;

/// One event on its way to the bus. The bus name and `source` are the
/// publisher's; `time` is left to EventBridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEntry {
    /// The entry's `DetailType` (see [`super::detail::detail_type`]).
    pub detail_type: String,
    /// The entry's `Detail`: the event document.
    pub detail: String,
}

impl BusEntry {
    /// Its size as EventBridge counts it: the UTF-8 bytes of `Source`,
    /// `DetailType` and `Detail` (and of `Time` and `Resources`, never set).
    pub fn size(&self) -> usize {
        SOURCE.len() + self.detail_type.len() + self.detail.len()
    }

    /// The most `detail` may weigh for an entry of this type to fit `limit`.
    pub fn detail_room(detail_type: &str, limit: usize) -> usize {
        limit.saturating_sub(SOURCE.len() + detail_type.len())
    }
}

/// What the bus said of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryResult {
    /// On the bus.
    Published,
    /// Not published.
    Failed {
        /// EventBridge's error code (`ThrottlingException`, `MalformedDetail`, ...).
        code: String,
        /// Its message.
        message: String,
    },
}

/// Splits entries (by size, in order) into calls of at most
/// [`MAX_ENTRIES_PER_CALL`] entries and `limit` bytes; an entry alone over
/// `limit` gets a call of its own (the bus refuses it, and only it).
pub fn calls(sizes: &[usize], limit: usize) -> Vec<Range<usize>> {
    let mut calls = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, size) in sizes.iter().enumerate() {
        let full = index - start == MAX_ENTRIES_PER_CALL || (index > start && bytes + size > limit);
        if full {
            calls.push(start..index);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        calls.push(start..sizes.len());
    }
    calls
}

/// Whether an entry failed for good: EventBridge refused its content, so
/// sending it again changes nothing. Anything else (throttling, an internal
/// failure, a code this version does not know) is tried again.
pub fn is_permanent(code: &str) -> bool {
    matches!(
        code,
        "MalformedDetail" | "InvalidArgument" | "ValidationException" | "InvalidEventPatternException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_five_small_entries_go_in_three_calls_of_at_most_ten() {
        // GIVEN 25 entries of 1 KB
        // WHEN they are grouped
        let grouped = calls(&[1_000; 25], ENTRY_LIMIT_BYTES);
        // THEN three calls carry them, in order
        assert_eq!(grouped, vec![0..10, 10..20, 20..25]);
    }

    #[test]
    fn a_call_never_holds_more_bytes_than_the_limit() {
        // GIVEN entries of 400, 400, 400 and 100 bytes and a 1,000-byte limit
        // WHEN they are grouped
        let grouped = calls(&[400, 400, 400, 100], 1_000);
        // THEN each call stays within the limit
        assert_eq!(grouped, vec![0..2, 2..4]);
    }

    #[test]
    fn an_entry_over_the_limit_goes_alone() {
        // GIVEN a small entry, one over the limit, and another small one
        // WHEN they are grouped
        let grouped = calls(&[10, 2_000, 10], 1_000);
        // THEN the large one has a call of its own
        assert_eq!(grouped, vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn refused_content_is_permanent_and_throttling_is_not() {
        // GIVEN EventBridge's per-entry error codes
        // WHEN they are classified
        // THEN only refused content is given up on
        assert!(is_permanent("MalformedDetail"));
        assert!(!is_permanent("ThrottlingException"));
        assert!(!is_permanent("InternalFailure"));
        assert!(!is_permanent("SomethingNew"));
    }
}
