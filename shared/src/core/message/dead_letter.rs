//! The message that goes to the dead-letter queue: the original body, verbatim,
//! with the reason alongside as attributes. A large event's pointer stays a
//! pointer (body and reserved size attribute), so a redrive brings it back
//! readable.

use super::sqs_text::sqs_clean;
use super::{
    ATTRIBUTE_ID, ATTRIBUTE_PAYLOAD_SIZE, ATTRIBUTE_PROTOCOL, ATTRIBUTE_TYPE, DEAD_LETTER_ERROR_CODE,
    DEAD_LETTER_ERROR_MESSAGE, DEAD_LETTER_ORIGINAL_MESSAGE_ID, DEAD_LETTER_RECEIVE_COUNT,
    LEGACY_ATTRIBUTE_PAYLOAD_SIZE, OutboundMessage,
};
use crate::ports::queue::ReceivedMessage;

/// Long reasons are cut: attributes count against the message size, and a
/// reason is for a person reading the DLQ, not a log dump.
const MAX_ERROR_MESSAGE: usize = 512;

/// The dead letter of `message`: its body (a placeholder when empty) and its
/// protocol, type, id and size attributes, with `code`, `reason` (cut to 512
/// bytes), its message id and its receive count as attributes.
pub fn dead_letter_message(message: &ReceivedMessage, code: &str, reason: &str) -> OutboundMessage {
    let kept = [
        ATTRIBUTE_PROTOCOL,
        ATTRIBUTE_TYPE,
        ATTRIBUTE_ID,
        ATTRIBUTE_PAYLOAD_SIZE,
        LEGACY_ATTRIBUTE_PAYLOAD_SIZE,
    ];
    let mut attributes: Vec<(&'static str, String)> = kept
        .into_iter()
        .filter_map(|name| {
            message
                .attribute(name)
                .filter(|v| !v.is_empty())
                .map(|v| (name, v.to_owned()))
        })
        .collect();
    attributes.push((DEAD_LETTER_ERROR_CODE, code.to_owned()));
    // A business logic's reason may quote event data SQS would refuse.
    attributes.push((
        DEAD_LETTER_ERROR_MESSAGE,
        sqs_clean(&truncate(reason, MAX_ERROR_MESSAGE)),
    ));
    attributes.push((DEAD_LETTER_ORIGINAL_MESSAGE_ID, message.message_id.clone()));
    attributes.push((DEAD_LETTER_RECEIVE_COUNT, message.receive_count.to_string()));
    OutboundMessage {
        // SQS refuses an empty body; a message without one gets a placeholder so
        // its reason still reaches the DLQ.
        body: message
            .body
            .clone()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| String::from("(empty body)")),
        attributes,
        event_id: message.attribute(ATTRIBUTE_ID).map(str::to_owned),
        event_type: message.attribute(ATTRIBUTE_TYPE).map(str::to_owned),
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn received(body: Option<&str>) -> ReceivedMessage {
        ReceivedMessage {
            message_id: "m-1".into(),
            receipt_handle: Some("rh".into()),
            body: body.map(str::to_owned),
            receive_count: 3,
            attributes: HashMap::from([
                ("type".to_owned(), "product.updated".to_owned()),
                ("custom".to_owned(), "x".to_owned()),
            ]),
        }
    }

    #[test]
    fn the_dead_letter_keeps_the_body_verbatim_with_the_reason_beside_it() {
        // GIVEN a received message
        let original = received(Some(r#"{"v":1,"event":{"a":"\u00e9"}}"#));
        // WHEN it is dead-lettered
        let dead = dead_letter_message(&original, "rejected", "product has no SKU");
        // THEN the body is untouched and the attributes say why
        assert_eq!(Some(dead.body.as_str()), original.body.as_deref());
        assert_eq!(
            dead.attributes,
            vec![
                ("type", "product.updated".to_owned()),
                ("error_code", "rejected".to_owned()),
                ("error_message", "product has no SKU".to_owned()),
                ("original_message_id", "m-1".to_owned()),
                ("receive_count", "3".to_owned()),
            ]
        );
    }

    #[test]
    fn a_dead_lettered_pointer_stays_a_pointer_so_a_redrive_can_read_it() {
        // GIVEN a received pointer to a large event
        let pointer =
            r#"["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]"#;
        let mut original = received(Some(pointer));
        original
            .attributes
            .insert("ExtendedPayloadSize".into(), "2000000".into());
        // WHEN it is dead-lettered
        let dead = dead_letter_message(&original, "rejected", "no SKU");
        // THEN the pointer and its reserved attribute are kept
        assert_eq!(dead.body, pointer);
        assert_eq!(dead.attribute("ExtendedPayloadSize"), Some("2000000"));
        assert!(crate::core::message::read_pointer(&received_from(&dead)).is_some());
    }

    fn received_from(message: &OutboundMessage) -> ReceivedMessage {
        ReceivedMessage {
            body: Some(message.body.clone()),
            attributes: message
                .attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            ..ReceivedMessage::default()
        }
    }

    #[test]
    fn a_message_without_a_body_gets_a_placeholder_sqs_accepts() {
        // GIVEN a received message without a body
        // WHEN it is dead-lettered
        let dead = dead_letter_message(&received(None), "invalid_envelope", "no body");
        // THEN its body is a placeholder
        assert_eq!(dead.body, "(empty body)");
    }

    #[test]
    fn a_long_reason_is_cut_on_a_character_boundary() {
        // GIVEN a reason of 600 two-byte characters
        let reason = "é".repeat(600);
        // WHEN the message is dead-lettered
        let dead = dead_letter_message(&received(Some("x")), "rejected", &reason);
        // THEN the reason is cut to 512 bytes and marked
        let kept = dead.attribute("error_message").expect("reason");
        assert_eq!(kept, format!("{}…", "é".repeat(256)));
    }

    #[test]
    fn a_reason_quoting_characters_sqs_refuses_is_cleaned() {
        // GIVEN a business logic reason quoting a NUL and a U+FFFF from the event
        // WHEN the message is dead-lettered
        let dead = dead_letter_message(&received(Some("{}")), "rejected", "bad name \0\u{FFFF}");
        // THEN the reason SQS would carry has U+FFFD in their place
        assert_eq!(dead.attribute("error_message"), Some("bad name \u{FFFD}\u{FFFD}"));
    }
}
