//! Both routes' signing secrets and the Event Platform's notification secret,
//! and the JSON document that holds them in a Secrets Manager secret.

use serde::Deserialize;

use crate::core::protocol::Protocol;
use crate::core::signature::Secrets;

/// The secrets of each route, as the receiver checks requests against them.
#[derive(Debug, Clone, Default)]
pub struct RouteSecrets {
    /// The Events API route's; empty: that route answers 404.
    pub events_api: Secrets,
    /// The Event Platform route's; empty: that route answers 404.
    pub event_platform: Secrets,
    /// The subscriber's notification webhook secret (one, a second during a
    /// change); empty: the notification route answers 404.
    pub notifications: Secrets,
}

/// The catch-up has no route, so no secret.
static NO_SECRETS: Secrets = Secrets::none();

impl RouteSecrets {
    /// The secrets of `protocol`'s route.
    pub fn for_protocol(&self, protocol: Protocol) -> &Secrets {
        match protocol {
            Protocol::EventsApi => &self.events_api,
            Protocol::EventPlatform => &self.event_platform,
            Protocol::CatchUp => &NO_SECRETS,
        }
    }

    /// No route has a secret. A document holding only the notification secret
    /// is not empty: `subscribe` stores that one first, and the receiver must
    /// take it.
    pub fn is_empty(&self) -> bool {
        self.events_api.is_empty() && self.event_platform.is_empty() && self.notifications.is_empty()
    }
}

/// The secret is not the document the relay reads. Only the position is kept:
/// the parser's excerpt could be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret is not the expected JSON object (line {line}, column {column})")]
pub struct SecretDocumentError {
    /// Where the parser stopped: line.
    pub line: usize,
    /// Where the parser stopped: column.
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

/// The document's key of the Events API route's secrets.
pub const EVENTS_API_KEY: &str = "events_api_secrets";
/// The document's key of the Event Platform route's secrets.
pub const EVENT_PLATFORM_KEY: &str = "event_platform_secrets";
/// The document's key of the notification webhook's secret.
pub const NOTIFICATION_KEY: &str = "notification_secret";
/// Not read by the receiver: the one of the Event Platform secrets the
/// subscription signs with, or is about to once `subscribe` creates it. It
/// lets a rerun of a failed `subscribe` reuse the secret it stored instead of
/// adding another, and `rotate-secret` know the current one (Akeneo never
/// shows a subscription's secret).
pub const EVENT_PLATFORM_SUBSCRIPTION_KEY: &str = "event_platform_subscription_secret";

/// The secret document, edited one key at a time (by `subscribe` and
/// `rotate-secret`): the other keys are kept as they are.
#[derive(Clone, Default)]
pub struct SecretDocument(serde_json::Map<String, serde_json::Value>);

impl std::fmt::Debug for SecretDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecretDocument")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretDocument {
    /// Reads a document the receiver can read (else the error), keeping every
    /// key.
    pub fn parse(text: &str) -> Result<SecretDocument, SecretDocumentError> {
        // Checked as the receiver reads it first: a document it cannot read is not edited.
        parse_secret_document(text)?;
        serde_json::from_str(text)
            .map(SecretDocument)
            .map_err(|e| SecretDocumentError {
                line: e.line(),
                column: e.column(),
            })
    }

    /// The secrets under `key`, in order, blanks dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        let items: Vec<String> = match self.0.get(key) {
            Some(serde_json::Value::String(text)) => text.split(',').map(str::to_owned).collect(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        items
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The single value under `key`, trimmed; `None` when absent or blank.
    pub fn text(&self, key: &str) -> Option<String> {
        self.0
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// Sets `key` to `value`.
    pub fn set_text(&mut self, key: &str, value: &str) {
        self.0
            .insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
    }

    /// Written as comma-separated text, as the template writes it.
    pub fn set_list(&mut self, key: &str, secrets: &[String]) {
        self.0
            .insert(key.to_owned(), serde_json::Value::String(secrets.join(",")));
    }

    /// The document as JSON text.
    pub fn to_text(&self) -> String {
        serde_json::Value::Object(self.0.clone()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_document_keeps_the_other_keys_and_reads_back() {
        // GIVEN the template's document
        let text = r#"{"events_api_secrets":"a","event_platform_secrets":"b","notification_secret":"n"}"#;
        let mut document = SecretDocument::parse(text).expect("parses");
        // WHEN a second Event Platform secret is added
        let mut secrets = document.list(EVENT_PLATFORM_KEY);
        secrets.push("c".into());
        document.set_list(EVENT_PLATFORM_KEY, &secrets);
        // THEN the receiver reads both, and the other routes are as they were
        let read = parse_secret_document(&document.to_text()).expect("reads");
        assert_eq!(read.event_platform.len(), 2);
        assert_eq!((read.events_api.len(), read.notifications.len()), (1, 1));
    }

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
