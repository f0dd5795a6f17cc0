//! The message that goes to the dead-letter queue: the original body, verbatim,
//! with the reason alongside as attributes.

use crate::queue::OutboundMessage;
use crate::queue::message::{ATTRIBUTE_ID, ATTRIBUTE_PROTOCOL, ATTRIBUTE_TYPE};

use super::Record;

pub const ERROR_CODE: &str = "error_code";
pub const ERROR_MESSAGE: &str = "error_message";
pub const ORIGINAL_MESSAGE_ID: &str = "original_message_id";
pub const RECEIVE_COUNT: &str = "receive_count";

/// Long reasons are cut: attributes count against the message size, and a
/// reason is for a person reading the DLQ, not a log dump.
const MAX_ERROR_MESSAGE: usize = 512;

pub fn dead_letter_message(record: &Record, code: &str, message: &str) -> OutboundMessage {
    let mut attributes: Vec<(&'static str, String)> = [ATTRIBUTE_PROTOCOL, ATTRIBUTE_TYPE, ATTRIBUTE_ID]
        .into_iter()
        .filter_map(|name| {
            record
                .attributes
                .get(name)
                .filter(|v| !v.is_empty())
                .map(|v| (name, v.clone()))
        })
        .collect();
    attributes.push((ERROR_CODE, code.to_owned()));
    attributes.push((ERROR_MESSAGE, truncate(message, MAX_ERROR_MESSAGE)));
    attributes.push((ORIGINAL_MESSAGE_ID, record.message_id.clone()));
    attributes.push((RECEIVE_COUNT, record.receive_count.to_string()));
    OutboundMessage {
        // SQS refuses an empty body; a record without one gets a placeholder so
        // its reason still reaches the DLQ.
        body: record
            .body
            .clone()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| String::from("(empty body)")),
        attributes,
        event_id: record.attributes.get(ATTRIBUTE_ID).cloned(),
        event_type: record.attributes.get(ATTRIBUTE_TYPE).cloned(),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}
