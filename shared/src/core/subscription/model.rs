//! The management API's resources as the relay reads and writes them
//! (EVENT-PLATFORM-API.md, "Resources"). Fields the relay does not use are
//! kept in `other`, so `show --json` prints what Akeneo answered.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What Akeneo answers in place of a secret.
pub const REDACTED: &str = "***redacted***";

/// A subscriber: who receives a PIM's events, and how they are notified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Its id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its status, as Akeneo answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Who is told about its subscriptions, and how.
    #[serde(default)]
    pub contact: Contact,
    /// Every other field, as Akeneo answered it.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A subscriber's contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// The address of the technical contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technical_email: Option<String>,
    /// `email`, `webhook`; Akeneo's default is email only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_channels: Vec<String>,
    /// Where notification webhooks are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_webhook_url: Option<String>,
    /// Sent, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_webhook_secret: Option<String>,
}

impl Contact {
    /// Notifications reach `url` by webhook (and still by email).
    pub fn notifies(&self, url: &str) -> bool {
        self.notification_channels.iter().any(|c| c == "webhook")
            && self.notification_webhook_url.as_deref() == Some(url)
    }
}

/// A subscription: which events of the PIM go to which URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// The event types it delivers.
    #[serde(default)]
    pub events: Vec<String>,
    /// `active`, `suspended`, ...; absent means active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Its filter expression, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Whether events carry the product's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_product_identifier: Option<bool>,
    /// Where it delivers, and with which secrets and headers.
    #[serde(default)]
    pub config: SubscriptionConfig,
    /// Every other field, as Akeneo answered it.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Subscription {
    /// Akeneo delivers to it (`status` "active"; a subscription without a
    /// status is taken as active).
    pub fn is_active(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("active"))
    }

    /// Its status, `active` when absent.
    pub fn status_text(&self) -> &str {
        self.status.as_deref().unwrap_or("active")
    }

    /// The URL it delivers to; empty when absent.
    pub fn url(&self) -> &str {
        self.config.url.as_deref().unwrap_or("")
    }
}

/// Where a subscription delivers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionConfig {
    /// The destination URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Redacted in answers: only whether each is set can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretPair>,
    /// Headers added to each delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
}

/// A subscription's signing secrets: each event is signed with both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretPair {
    /// The primary secret (redacted in answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// The secondary secret, during a rotation (redacted in answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<String>,
}

impl SecretPair {
    /// Whether a secondary secret is set.
    pub fn has_secondary(&self) -> bool {
        self.secondary.as_deref().is_some_and(|s| !s.is_empty())
    }
}

/// One delivery log line (`GET /logs`): an `action` or an `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The entry's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// `action` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_type: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub timestamp: String,
    /// The subscription it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// What was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Why it failed, for an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    /// The HTTP status the destination answered, for an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// The error's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Every other field, as Akeneo answered it.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl LogEntry {
    /// One line for a terminal.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}  {:<6}  {}",
            self.timestamp,
            self.log_type.as_deref().unwrap_or("-"),
            self.operation.as_deref().unwrap_or("-")
        );
        if let Some(subscription) = &self.subscription_id {
            line.push_str(&format!("  subscription={subscription}"));
        }
        if let Some(reason) = &self.error_reason {
            line.push_str(&format!("  reason={reason}"));
        }
        if let Some(code) = self.error_code {
            line.push_str(&format!("  code={code}"));
        }
        if let Some(message) = &self.error_message {
            line.push_str(&format!("  {message}"));
        }
        line
    }
}

/// Newest first. RFC 3339 timestamps in UTC compare as text; one that is not
/// parsed keeps its place after the parsed ones.
pub fn newest_first(entries: &mut [LogEntry]) {
    let key = |entry: &LogEntry| {
        time::OffsetDateTime::parse(&entry.timestamp, &time::format_description::well_known::Rfc3339).ok()
    };
    entries.sort_by_key(|entry| std::cmp::Reverse(key(entry)));
}

/// The items of a list answer: a JSON array, or an object holding one under
/// `items`, `data` or `_embedded.items` (the documentation shows no list
/// answer; all three are read).
pub fn list_items(body: &[u8]) -> Option<Vec<Value>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut object) => {
            let embedded = object
                .get_mut("_embedded")
                .and_then(|e| e.get_mut("items"))
                .map(Value::take);
            match object
                .remove("items")
                .or_else(|| object.remove("data"))
                .or(embedded)
            {
                Some(Value::Array(items)) => items,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(items)
}

/// The next page of a list answer (`_links.next.href`), if any.
pub fn next_page(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value
        .pointer("/_links/next/href")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_subscription_answer_is_read() {
        // GIVEN the answer shown in Akeneo's logs page
        let body = r#"{"id":"019363c6","config":{"url":"https://my.webhook.com","secret":{"primary":"***redacted***","secondary":"***redacted***"}},
            "events":["com.akeneo.pim.v1.product.deleted"],"type":"https","source":"pim","subject":"https://mypim.cloud.akeneo.com",
            "status":"suspended","subscriber_id":"019363c4"}"#;
        // WHEN it is parsed
        let subscription: Subscription = serde_json::from_str(body).expect("parses");
        // THEN the fields the relay uses are there, and the rest is kept
        assert!(!subscription.is_active());
        assert_eq!(subscription.url(), "https://my.webhook.com");
        assert!(subscription.config.secret.expect("secret").has_secondary());
        assert_eq!(subscription.other["subject"], "https://mypim.cloud.akeneo.com");
    }

    #[test]
    fn list_answers_are_read_in_each_shape() {
        // GIVEN a bare array, an items object and a HAL page
        for body in [
            r#"[{"id":"a"}]"#,
            r#"{"items":[{"id":"a"}]}"#,
            r#"{"_embedded":{"items":[{"id":"a"}]}}"#,
        ] {
            // WHEN its items are read
            let items = list_items(body.as_bytes()).expect("a list");
            // THEN there is the one item
            assert_eq!(items.len(), 1, "{body}");
        }
        assert_eq!(list_items(br#"{"id":"a"}"#), None);
    }

    #[test]
    fn logs_sort_newest_first() {
        // GIVEN three entries out of order
        let entry = |t: &str| LogEntry {
            log_id: None,
            log_type: None,
            timestamp: t.to_owned(),
            subscription_id: None,
            operation: None,
            error_reason: None,
            error_code: None,
            error_message: None,
            other: Map::new(),
        };
        let mut entries = vec![
            entry("2024-11-25T10:07:56Z"),
            entry("2024-11-25T16:36:00Z"),
            entry("2024-11-24T23:59:59Z"),
        ];
        // WHEN they are sorted
        newest_first(&mut entries);
        // THEN the latest comes first
        let order: Vec<_> = entries.iter().map(|e| &e.timestamp[..13]).collect();
        assert_eq!(order, ["2024-11-25T16", "2024-11-25T10", "2024-11-24T23"]);
    }
}
