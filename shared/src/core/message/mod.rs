//! The queue message contract, in one place: the envelope (`v: 1`) the receiver
//! writes around each event's exact bytes and the processor reads back, the
//! message attributes, the S3 pointer that stands in for an event too large for
//! one message ([`claim_check`]), and the dead-letter message with its reason
//! attributes.
//!
//! ```json
//! {"v":1,"protocol":"events-api","id":"…","type":"product.updated",
//!  "occurred_at":"…","source":"…","received_at":"…","event":{ …the event, byte for byte… }}
//! ```
//!
//! An event received on a tenant's route (see [`crate::core::tenant`]) has
//! `"tenant":"<name>"` right after `"protocol"`; without tenants the
//! envelope has no such field.
//!
//! An event holding a character SQS refuses ([`sqs_text`]: U+FFFE or U+FFFF,
//! valid in JSON) is carried as `"event_text":"…"` instead, a JSON string of
//! its exact text, and the lifted fields are escaped likewise.

pub mod claim_check;
pub mod dead_letter;
pub mod reader;
pub mod sqs_text;
pub mod writer;

pub use claim_check::{
    ATTRIBUTE_PAYLOAD_SIZE, KeyPrefix, LEGACY_ATTRIBUTE_PAYLOAD_SIZE, PayloadLocation, attribute_data_type,
    read_pointer,
};
pub use dead_letter::dead_letter_message;
pub use reader::{Envelope, EnvelopeError, read_envelope};
pub use writer::{OutboundMessage, format_timestamp};

/// The envelope version this code writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;

/// SQS's limit for one message, body and attributes together; also the limit for
/// one `SendMessageBatch` call.
pub const SQS_MAX_MESSAGE_BYTES: usize = 1_048_576;

/// String attribute on every queued event: its protocol (`events-api`,
/// `event-platform`), for filtering and logs.
pub const ATTRIBUTE_PROTOCOL: &str = "protocol";
/// String attribute: the event's type (`product.updated`, ...), when it has
/// one.
pub const ATTRIBUTE_TYPE: &str = "type";
/// String attribute: the event's Akeneo id, when it has one.
pub const ATTRIBUTE_ID: &str = "id";
/// String attribute: the tenant whose route received the event (see
/// [`crate::core::tenant`]); absent in a single-PIM deployment. The SQS
/// adapter also makes it the message group id, so the queue shares its
/// throughput fairly between tenants.
pub const ATTRIBUTE_TENANT: &str = "tenant";

/// Attribute a dead-lettered message carries beside the original ones: a
/// stable code for why (`rejected`, `invalid_envelope`, ...).
pub const DEAD_LETTER_ERROR_CODE: &str = "error_code";
/// Dead-letter attribute: why, in words (at most 512 bytes).
pub const DEAD_LETTER_ERROR_MESSAGE: &str = "error_message";
/// Dead-letter attribute: the message id the event had on the queue.
pub const DEAD_LETTER_ORIGINAL_MESSAGE_ID: &str = "original_message_id";
/// Dead-letter attribute: how many times the queue had delivered it.
pub const DEAD_LETTER_RECEIVE_COUNT: &str = "receive_count";
/// Every dead-letter attribute: dropped when a message is redriven.
pub const DEAD_LETTER_ATTRIBUTES: [&str; 4] = [
    DEAD_LETTER_ERROR_CODE,
    DEAD_LETTER_ERROR_MESSAGE,
    DEAD_LETTER_ORIGINAL_MESSAGE_ID,
    DEAD_LETTER_RECEIVE_COUNT,
];

/// The fields the envelope lifts out of an event, `None` where the event lacks
/// them or has them as something other than a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    /// `event_id` (Events API) or `id` (Event Platform).
    pub id: Option<String>,
    /// `action` or `type`.
    pub kind: Option<String>,
    /// `event_datetime` (or `event_date`) or `time`.
    pub occurred_at: Option<String>,
    /// `pim_source` or `subject`.
    pub source: Option<String>,
}
