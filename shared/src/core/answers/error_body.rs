//! The message of an Akeneo error answer, for a log line or an error.

/// Akeneo's error text: `message` (REST API), `error_description` or `error`
/// (OAuth), cut to 300 characters. It describes the request, never echoes a
/// secret; control characters are replaced so it cannot forge log lines.
pub fn error_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(body).ok();
    let text = parsed
        .as_ref()
        .and_then(|map| {
            ["message", "error_description", "error"]
                .iter()
                .find_map(|key| map.get(*key).and_then(serde_json::Value::as_str))
        })
        .unwrap_or("(no message)");
    text.chars()
        .take(300)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_come_from_either_error_format() {
        // GIVEN a REST API error, an OAuth error and garbage
        // WHEN their messages are read
        // THEN each gives its text
        assert_eq!(
            error_message(br#"{"code":404,"message":"Not found"}"#),
            "Not found"
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_grant","error_description":"Invalid username and password combination"}"#),
            "Invalid username and password combination"
        );
        assert_eq!(error_message(b"<html>"), "(no message)");
    }

    #[test]
    fn a_long_or_multiline_message_is_cut_and_kept_on_one_line() {
        // GIVEN a message of 10,000 characters with line breaks
        let body = serde_json::json!({ "message": "a\nb\r".repeat(2500) }).to_string();
        // WHEN it is read
        let message = error_message(body.as_bytes());
        // THEN 300 characters remain, none of them a control character
        assert_eq!(message.chars().count(), 300);
        assert!(!message.chars().any(char::is_control));
    }
}
