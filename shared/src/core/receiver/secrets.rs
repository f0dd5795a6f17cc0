//! Both routes' signing secrets and the Event Platform's notification secret,
//! and the JSON document that holds them in a Secrets Manager secret.

use serde::Deserialize;

use crate::core::protocol::Protocol;
use crate::core::signature::Secrets;

#[derive(Debug, Clone, Default)]
pub struct RouteSecrets {
    pub events_api: Secrets,
    pub event_platform: Secrets,
    /// The subscriber's notification webhook secret (one, a second during a
    /// change); empty: the notification route answers 404.
    pub notifications: Secrets,
}

impl RouteSecrets {
    pub fn for_protocol(&self, protocol: Protocol) -> &Secrets {
        match protocol {
            Protocol::EventsApi => &self.events_api,
            Protocol::EventPlatform => &self.event_platform,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events_api.is_empty() && self.event_platform.is_empty()
    }
}

/// The secret is not the document the relay reads. Only the position is kept:
/// the parser's excerpt could be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret is not the expected JSON object (line {line}, column {column})")]
pub struct SecretDocumentError {
    pub line: usize,
    pub column: usize,
}

/// `{"events_api_secrets": "a,b", "event_platform_secrets": "c",
/// "notification_secret": "d"}`; each value a comma-separated string or an
/// array of strings.
pub fn parse_secret_document(text: &str) -> Result<RouteSecrets, SecretDocumentError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Text(String),
        Items(Vec<String>),
    }
    #[derive(Deserialize)]
    struct Document {
        events_api_secrets: Option<List>,
        event_platform_secrets: Option<List>,
        notification_secret: Option<List>,
    }
    let document: Document = serde_json::from_str(text).map_err(|e| SecretDocumentError {
        line: e.line(),
        column: e.column(),
    })?;
    let secrets = |list: Option<List>| match list {
        None => Secrets::default(),
        Some(List::Text(text)) => Secrets::parse_list(&text),
        Some(List::Items(items)) => Secrets::new(items.iter().map(|s| s.trim()).filter(|s| !s.is_empty())),
    };
    Ok(RouteSecrets {
        events_api: secrets(document.events_api_secrets),
        event_platform: secrets(document.event_platform_secrets),
        notifications: secrets(document.notification_secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_may_be_comma_separated_text_or_arrays() {
        // GIVEN a document with a text list and an array with a blank item
        let text = r#"{"events_api_secrets":"a, b","event_platform_secrets":["c"," "]}"#;
        // WHEN it is parsed
        let secrets = parse_secret_document(text).expect("parses");
        // THEN blanks are dropped
        assert_eq!((secrets.events_api.len(), secrets.event_platform.len()), (2, 1));
    }

    #[test]
    fn a_route_left_out_has_no_secrets() {
        // GIVEN a document for the Event Platform only
        // WHEN it is parsed
        let secrets = parse_secret_document(r#"{"event_platform_secrets":"c"}"#).expect("parses");
        // THEN the Events API has none
        assert!(secrets.events_api.is_empty());
    }

    #[test]
    fn a_malformed_document_is_reported_without_echoing_the_secret() {
        // GIVEN a document that is not JSON around a secret
        // WHEN it is parsed
        let error = parse_secret_document(r#"{"events_api_secrets": 12345-hunter2}"#).expect_err("refused");
        // THEN the error gives a position, not the text
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert_eq!(error.line, 1);
    }
}
