//! Requests as Akeneo signs them, through the relay's own signers (pinned to
//! the known-answer vectors).

use std::time::{SystemTime, UNIX_EPOCH};

use shared::core::signature::{event_platform, events_api};

pub type Headers = Vec<(String, String)>;

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The headers the PIM sends with an Events API request signed now.
pub fn events_api_headers(secret: &str, body: &[u8]) -> Headers {
    let mut headers: Headers = events_api::headers(secret, now_unix(), body)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("user-agent".into(), "AkeneoPIM/7.0".into()));
    headers
}

/// The headers the Event Platform sends, one signature per given secret.
pub fn event_platform_headers(secrets: &[&str], body: &[u8]) -> Headers {
    let mut headers: Headers = event_platform::headers(secrets[0], secrets.get(1).copied(), body)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    headers.push(("content-type".into(), "application/cloudevents+json".into()));
    headers
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// The `event` member of a queue message body, as raw text: everything after
/// `"event":` up to the envelope's closing brace.
pub fn raw_event_of(message_body: &str) -> &str {
    let start = message_body.find(r#","event":"#).expect("envelope has an event") + r#","event":"#.len();
    message_body[start..]
        .strip_suffix('}')
        .expect("envelope ends with }")
}
