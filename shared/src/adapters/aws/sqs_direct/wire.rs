//! `SendMessageBatch` in SQS's JSON protocol (`application/x-amz-json-1.0`):
//! the request body, and what an answer means for each entry. Pure functions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::message::attribute_data_type;
use crate::ports::queue::{BatchEntry, BatchReport, FailedEntry, QueueError, QueuedEntry};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
pub const TARGET: &str = "AmazonSQS.SendMessageBatch";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Request<'a> {
    queue_url: &'a str,
    entries: Vec<Entry<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Entry<'a> {
    id: &'a str,
    message_body: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<&'a str, Attribute<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute<'a> {
    data_type: &'a str,
    string_value: &'a str,
}

/// The JSON body of one `SendMessageBatch` call.
pub fn request_body(queue_url: &str, entries: &[BatchEntry<'_>]) -> Result<Vec<u8>, QueueError> {
    let entries = entries
        .iter()
        .map(|entry| Entry {
            id: entry.id,
            message_body: &entry.message.body,
            message_attributes: entry
                .message
                .attributes
                .iter()
                .map(|(name, value)| {
                    let attribute = Attribute {
                        data_type: attribute_data_type(name),
                        string_value: value,
                    };
                    (*name, attribute)
                })
                .collect(),
        })
        .collect();
    serde_json::to_vec(&Request { queue_url, entries }).map_err(|error| QueueError::Invalid {
        detail: format!("could not build the SQS request: {error}"),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    successful: Vec<Successful>,
    #[serde(default)]
    failed: Vec<Failed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Successful {
    id: String,
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Failed {
    id: String,
    code: String,
    #[serde(default)]
    sender_fault: bool,
}

/// An error answer: `__type` is `namespace#Code` (some services send the code
/// alone); the message is `message`, `Message`, or both.
#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(rename = "Message", default)]
    capitalised_message: Option<String>,
}

/// Codes SQS answers when it wants the caller to slow down and try again.
const THROTTLING: [&str; 4] = [
    "ThrottlingException",
    "RequestThrottled",
    "KmsThrottled",
    "KMS.ThrottlingException",
];

/// What an answer says: each entry queued or failed (2xx), or the call refused
/// as a whole. A 5xx, a throttle or a 2xx that cannot be read is
/// `Unavailable` (another attempt may work); any other 4xx is `Invalid`. Either
/// way the receiver tries again inside its deadline and answers 503 if no
/// attempt lands, so the split only tells the logs what happened.
pub fn read_answer(status: http::StatusCode, body: &[u8]) -> Result<BatchReport, QueueError> {
    if status.is_success() {
        let answer: Answer = serde_json::from_slice(body).map_err(|error| QueueError::Unavailable {
            detail: format!(
                "SQS answered {status} with a body that is not a SendMessageBatch result: {error}"
            ),
        })?;
        return Ok(BatchReport {
            queued: answer
                .successful
                .into_iter()
                .map(|ok| QueuedEntry {
                    id: ok.id,
                    message_id: ok.message_id,
                })
                .collect(),
            failed: answer
                .failed
                .into_iter()
                .map(|failed| FailedEntry {
                    id: failed.id,
                    code: failed.code,
                    sender_fault: failed.sender_fault,
                })
                .collect(),
        });
    }
    let error: ErrorAnswer = serde_json::from_slice(body).unwrap_or_default();
    let code = error.kind.rsplit('#').next().unwrap_or_default();
    let message = error.message.or(error.capitalised_message).unwrap_or_default();
    let detail = match (code, message.as_str()) {
        ("", _) => format!("SQS answered {status}"),
        (code, "") => format!("SQS answered {status} {code}"),
        (code, message) => format!("SQS answered {status} {code}: {message}"),
    };
    let retryable = status.is_server_error()
        || status == http::StatusCode::TOO_MANY_REQUESTS
        || status == http::StatusCode::REQUEST_TIMEOUT
        || THROTTLING.contains(&code);
    Err(if retryable {
        QueueError::Unavailable { detail }
    } else {
        QueueError::Invalid { detail }
    })
}
