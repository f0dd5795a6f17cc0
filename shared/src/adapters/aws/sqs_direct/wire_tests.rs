//! The JSON protocol's SendMessageBatch, as SQS documents it and the SDK sends it.

use http::StatusCode;
use serde_json::{Value, json};

use super::wire::{read_answer, request_body};
use crate::core::message::OutboundMessage;
use crate::core::message::claim_check::ATTRIBUTE_PAYLOAD_SIZE;
use crate::ports::queue::{BatchEntry, FailedEntry, QueueError, QueuedEntry};

const QUEUE_URL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/akeneo-events";

fn message(body: &str, attributes: Vec<(&'static str, String)>) -> OutboundMessage {
    OutboundMessage {
        body: body.to_owned(),
        attributes,
        event_id: None,
        event_type: None,
    }
}

#[test]
fn the_body_carries_each_message_byte_for_byte_with_typed_attributes() {
    // GIVEN an event with escapes and non-ASCII, and a large event's pointer
    let event = message(
        r#"{"v":1,"event":{"name":"Caf\u00e9 \"bleu\"","path":"a\/b","é":"\n"}}"#,
        vec![
            ("type", String::from("product.updated")),
            ("id", String::from("e-1")),
        ],
    );
    let pointer = message(
        "[\"pointer\"]",
        vec![(ATTRIBUTE_PAYLOAD_SIZE, String::from("2097152"))],
    );
    let entries = [
        BatchEntry {
            id: "0",
            message: &event,
        },
        BatchEntry {
            id: "1",
            message: &pointer,
        },
    ];
    // WHEN the batch is written
    let body = request_body(QUEUE_URL, &entries).expect("body");
    // THEN it is the documented request, each body the exact string given
    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        parsed,
        json!({
            "QueueUrl": QUEUE_URL,
            "Entries": [
                {
                    "Id": "0",
                    "MessageBody": event.body,
                    "MessageAttributes": {
                        "id": {"DataType": "String", "StringValue": "e-1"},
                        "type": {"DataType": "String", "StringValue": "product.updated"}
                    }
                },
                {
                    "Id": "1",
                    "MessageBody": "[\"pointer\"]",
                    "MessageAttributes": {
                        ATTRIBUTE_PAYLOAD_SIZE: {"DataType": "Number", "StringValue": "2097152"}
                    }
                }
            ]
        })
    );
}

#[test]
fn a_message_without_attributes_sends_none() {
    // GIVEN a message with no attributes
    let plain = message("{}", vec![]);
    // WHEN the batch is written
    let body = request_body(
        QUEUE_URL,
        &[BatchEntry {
            id: "0",
            message: &plain,
        }],
    )
    .expect("body");
    // THEN the entry has no MessageAttributes key (SQS refuses an empty map)
    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(parsed["Entries"][0], json!({"Id": "0", "MessageBody": "{}"}));
}

#[test]
fn an_answer_reports_each_entry_queued_or_failed() {
    // GIVEN SQS's 200 answer with one entry taken and one refused
    let answer = br#"{"Successful":[{"Id":"0","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"99914b932bd37a50b983c5e7c90ae93b"}],
        "Failed":[{"Id":"1","SenderFault":true,"Code":"InvalidParameterValue","Message":"too long"}]}"#;
    // WHEN it is read
    let report = read_answer(StatusCode::OK, answer).expect("report");
    // THEN each entry has its outcome
    assert_eq!(
        report.queued,
        vec![QueuedEntry {
            id: String::from("0"),
            message_id: String::from("5fea7756-0ea4-451a-a703-a558b933e274"),
        }]
    );
    assert_eq!(
        report.failed,
        vec![FailedEntry {
            id: String::from("1"),
            code: String::from("InvalidParameterValue"),
            sender_fault: true,
        }]
    );
}

#[test]
fn an_answer_without_failures_may_leave_the_list_out() {
    // GIVEN a 200 answer with only Successful
    let answer = br#"{"Successful":[{"Id":"0","MessageId":"m-0"}]}"#;
    // WHEN it is read
    let report = read_answer(StatusCode::OK, answer).expect("report");
    // THEN nothing failed
    assert_eq!((report.queued.len(), report.failed.len()), (1, 0));
}

#[test]
fn an_unreadable_success_is_unavailable_not_queued() {
    // GIVEN a 200 whose body is not a SendMessageBatch result (a proxy's page)
    // WHEN it is read
    let outcome = read_answer(StatusCode::OK, b"<html>OK</html>");
    // THEN nothing counts as queued, and another attempt may work
    assert!(
        matches!(outcome, Err(QueueError::Unavailable { .. })),
        "{outcome:?}"
    );
}

#[test]
fn a_missing_queue_is_invalid_with_its_code_and_message() {
    // GIVEN SQS's answer for a queue that does not exist
    let answer = br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#;
    // WHEN it is read
    let outcome = read_answer(StatusCode::BAD_REQUEST, answer);
    // THEN trying again unchanged will not help, and the log says why
    let Err(QueueError::Invalid { detail }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        detail,
        "SQS answered 400 Bad Request QueueDoesNotExist: The specified queue does not exist."
    );
}

#[test]
fn an_error_with_the_message_under_both_spellings_is_read() {
    // GIVEN an error answer carrying `message` and `Message` (moto sends both)
    let answer = br#"{"__type": "com.amazonaws.sqs#EmptyBatchRequest", "message": "No entries.", "Message": "No entries."}"#;
    // WHEN it is read
    let outcome = read_answer(StatusCode::BAD_REQUEST, answer);
    // THEN code and message are both in the log's detail
    let Err(QueueError::Invalid { detail }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        detail,
        "SQS answered 400 Bad Request EmptyBatchRequest: No entries."
    );
}

#[test]
fn throttling_is_unavailable() {
    // GIVEN SQS asking the caller to slow down, with a 400
    let answer = br#"{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}"#;
    // WHEN it is read
    let outcome = read_answer(StatusCode::BAD_REQUEST, answer);
    // THEN another attempt may work
    assert!(
        matches!(outcome, Err(QueueError::Unavailable { .. })),
        "{outcome:?}"
    );
}

#[test]
fn a_server_error_without_a_body_is_unavailable() {
    // GIVEN a 503 with an empty body
    // WHEN it is read
    let outcome = read_answer(StatusCode::SERVICE_UNAVAILABLE, b"");
    // THEN another attempt may work, and the log names the status
    let Err(QueueError::Unavailable { detail }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(detail, "SQS answered 503 Service Unavailable");
}
