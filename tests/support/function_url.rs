//! Requests as a Lambda Function URL delivers them (payload format 2.0), parsed
//! from the event's JSON exactly as the deployed function parses them.

use base64::Engine;
use serde_json::json;
use shared::edges::lambda::function_url::FunctionUrlEvent;

/// Binary bodies arrive base64-encoded; `base64` forces that for any body.
pub fn request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    base64: bool,
) -> FunctionUrlEvent {
    let headers: serde_json::Map<String, serde_json::Value> =
        headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let (body, encoded) = if body.is_empty() && !base64 {
        (serde_json::Value::Null, false)
    } else if base64 {
        (
            json!(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        )
    } else {
        (json!(std::str::from_utf8(body).expect("text body")), false)
    };
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnop",
            "domainName": "abcdefghijklmnop.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefghijklmnop",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "AkeneoPIM/7.0"
            },
            "requestId": "5b6f1b2e-1111-2222-3333-444455556666",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:04:00:00 +0000",
            "timeEpoch": 1795406400000u64
        },
        "body": body,
        "isBase64Encoded": encoded
    });
    serde_json::from_str(&event.to_string()).expect("the edge parses Function URL events")
}

/// What Lambda's event source mapping hands the processor for a received
/// message: id, receipt handle, body, receive count and string attributes.
pub fn sqs_record(message: &aws_sdk_sqs::types::Message) -> aws_lambda_events::sqs::SqsMessage {
    let mut record = aws_lambda_events::sqs::SqsMessage::default();
    record.message_id = message.message_id.clone();
    record.receipt_handle = message.receipt_handle.clone();
    record.body = message.body.clone();
    for (name, value) in message.attributes.iter().flatten() {
        record.attributes.insert(name.as_str().to_owned(), value.clone());
    }
    for (name, value) in message.message_attributes.iter().flatten() {
        let mut attribute = aws_lambda_events::sqs::SqsMessageAttribute::default();
        attribute.string_value = value.string_value.clone();
        attribute.data_type = Some(value.data_type.clone());
        record.message_attributes.insert(name.clone(), attribute);
    }
    record
}
