//! The receiver's `SendMessageBatch` (aws-sdk-sqs, as the deployed receiver
//! configures it) against a real SQS API (moto): what lands is what the
//! SDK's consumers read, and SQS's refusals come back typed.

use std::collections::HashMap;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use shared::core::message::OutboundMessage;
use shared::core::message::claim_check::ATTRIBUTE_PAYLOAD_SIZE;
use shared::ports::queue::{BatchEntry, QueueError, QueueSender};

use crate::support::app::{ReceiverApp, sender};
use crate::support::moto;

fn message(body: &str, attributes: Vec<(&'static str, String)>) -> OutboundMessage {
    OutboundMessage {
        body: body.to_owned(),
        attributes,
        event_id: None,
        event_type: None,
    }
}

#[tokio::test]
async fn a_batch_lands_with_its_bodies_and_typed_attributes_as_the_sdk_reads_them() {
    // GIVEN a queue, an event with escapes and non-ASCII, and a large event's pointer
    let sqs = moto::sqs().await;
    let queue_url = moto::create_queue(&sqs, "sender-batch").await;
    let sender = sender(&moto::sdk().await, &queue_url);
    let event = message(
        r#"{"v":1,"event":{"name":"Caf\u00e9 \"bleu\" é","path":"a\/b"}}"#,
        vec![
            ("type", String::from("product.updated")),
            ("id", String::from("e-1")),
        ],
    );
    let pointer = message(
        "[\"pointer\"]",
        vec![(ATTRIBUTE_PAYLOAD_SIZE, String::from("2097152"))],
    );
    // WHEN both are sent in one batch
    let report = sender
        .send_batch(&[
            BatchEntry {
                id: "0",
                message: &event,
            },
            BatchEntry {
                id: "1",
                message: &pointer,
            },
        ])
        .await
        .expect("sent");
    // THEN both are reported queued, and the SDK reads them back byte for byte with their types
    assert_eq!((report.queued.len(), report.failed.len()), (2, 0));
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    let by_body: HashMap<&str, _> = received
        .iter()
        .map(|m| (m.body.as_deref().unwrap_or_default(), m))
        .collect();
    let landed = by_body
        .get(event.body.as_str())
        .expect("event landed byte for byte");
    let attributes = landed.message_attributes.as_ref().expect("attributes");
    assert_eq!(
        attributes["type"].string_value.as_deref(),
        Some("product.updated")
    );
    assert_eq!(attributes["type"].data_type, "String");
    let landed = by_body.get("[\"pointer\"]").expect("pointer landed");
    let size = &landed.message_attributes.as_ref().expect("attributes")[ATTRIBUTE_PAYLOAD_SIZE];
    assert_eq!(
        (size.data_type.as_str(), size.string_value.as_deref()),
        ("Number", Some("2097152"))
    );
    let ids: Vec<_> = report.queued.iter().map(|q| q.message_id.as_str()).collect();
    assert!(ids.contains(&landed.message_id.as_deref().unwrap_or_default()));
}

#[tokio::test]
async fn a_queue_that_does_not_exist_is_refused_as_invalid_with_sqs_s_reason() {
    // GIVEN a sender on a queue URL moto does not know
    let sdk = moto::sdk().await;
    let endpoint = sdk
        .endpoint_url()
        .expect("moto endpoint")
        .trim_end_matches('/')
        .to_owned();
    let sender = sender(&sdk, &format!("{endpoint}/123456789012/never-created"));
    let event = message("{}", vec![]);
    // WHEN a batch is sent
    let outcome = sender
        .send_batch(&[BatchEntry {
            id: "0",
            message: &event,
        }])
        .await;
    // THEN the call is refused as a whole, naming SQS's code
    let Err(QueueError::Invalid { detail }) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(detail.contains("QueueDoesNotExist"), "{detail}");
}

#[tokio::test]
async fn the_warm_up_s_empty_batch_reaches_sqs_and_is_refused_as_empty() {
    // GIVEN a sender on a queue
    let sqs = moto::sqs().await;
    let queue_url = moto::create_queue(&sqs, "sender-empty").await;
    let sender = sender(&moto::sdk().await, &queue_url);
    // WHEN the empty batch the warm-up sends goes out
    let outcome = sender.send_batch(&[]).await;
    // THEN SQS answered it (the connection and credentials work) and queued nothing
    let Err(QueueError::Invalid { detail }) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(detail.contains("EmptyBatchRequest"), "{detail}");
    assert!(moto::receive(&sqs, &queue_url, 0).await.is_empty());
}

#[tokio::test]
async fn an_endpoint_set_in_code_wins_over_aws_endpoint_url() {
    // GIVEN AWS_ENDPOINT_URL pointing at moto, and a receiver configured in code for an endpoint that refuses
    let app = ReceiverApp::on_endpoint(&moto::refused_endpoint()).await;
    let event = message("{}", vec![]);
    // WHEN its sender sends a batch
    let outcome = app
        .receiver
        .queue()
        .send_batch(&[BatchEntry {
            id: "0",
            message: &event,
        }])
        .await;
    // THEN it tried the refusing endpoint (moto would have answered QueueDoesNotExist)
    let Err(QueueError::Unavailable { detail }) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(!detail.contains("QueueDoesNotExist"), "{detail}");
}
