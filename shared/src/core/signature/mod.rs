//! HMAC-SHA256 signatures of both protocols: each protocol's signer sits beside
//! its verifier, and both are pinned by the known-answer vectors in
//! `tests/fixtures/signatures.json`.

pub mod event_platform;
pub mod events_api;

use std::fmt;

use ring::hmac;

const SHA256_LEN: usize = 32;

/// The secrets live for one route. Keys are prepared once; `Debug` never shows
/// them.
#[derive(Clone, Default)]
pub struct Secrets {
    keys: Vec<hmac::Key>,
}

impl Secrets {
    /// No secret: nothing verifies.
    pub const fn none() -> Secrets {
        Secrets { keys: Vec::new() }
    }

    /// Secrets from their text, in order.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Secrets {
        let keys = secrets.into_iter().map(|secret| key(secret.as_ref())).collect();
        Secrets { keys }
    }

    /// Splits a comma-separated list, ignoring blanks around and between items.
    pub fn parse_list(list: &str) -> Secrets {
        Secrets::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// Whether there is none (the route is off).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    fn keys(&self) -> &[hmac::Key] {
        &self.keys
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.keys.len())
    }
}

/// Why a request's signature was refused; logged, never shown to the client in
/// more detail than "unauthorized".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A required header is absent.
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    /// A signature header is not hex SHA-256.
    #[error("header {0} is not a hex SHA-256 signature")]
    MalformedSignature(&'static str),
    /// The Events API timestamp is not a Unix time.
    #[error("header {} is not a Unix time in seconds", events_api::TIMESTAMP_HEADER)]
    MalformedTimestamp,
    /// The Event Platform names another algorithm.
    #[error("algorithm {0:?} is not supported (expected HmacSHA256)")]
    UnsupportedAlgorithm(String),
    /// No secret gives this signature.
    #[error("no configured secret matches the signature")]
    Mismatch,
    /// A genuine Events API request, signed too long ago (or ahead).
    #[error("timestamp is {skew_secs} s away from now, over the {tolerance_secs} s tolerance")]
    StaleTimestamp {
        /// Now minus the request's time, in seconds.
        skew_secs: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
}

/// A header to send: its lowercase name and value.
pub type Header = (&'static str, String);

fn key(secret: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())
}

/// Lowercase hex HMAC-SHA256 of the parts, in order, as one message.
fn sign_parts(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = hmac::Context::with_key(&key(secret));
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.sign())
}

fn decode_signature(value: &[u8], header: &'static str) -> Result<[u8; SHA256_LEN], SignatureError> {
    let mut tag = [0u8; SHA256_LEN];
    hex::decode_to_slice(value.trim_ascii(), &mut tag)
        .map_err(|_| SignatureError::MalformedSignature(header))?;
    Ok(tag)
}

/// Constant-time: every byte is looked at whatever the first difference.
fn tags_equal(computed: &[u8], expected: &[u8; SHA256_LEN]) -> bool {
    computed.len() == SHA256_LEN
        && computed
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        // GIVEN two secrets
        let secrets = Secrets::parse_list("hunter2, swordfish");
        // WHEN they are formatted for a log line
        let shown = format!("{secrets:?}");
        // THEN only their number shows
        assert_eq!(shown, "Secrets(2 redacted)");
    }

    #[test]
    fn a_secret_list_ignores_blanks_around_and_between_items() {
        // GIVEN a list with spaces and empty items
        // WHEN it is parsed
        let secrets = Secrets::parse_list(" a, b,, ");
        // THEN two secrets remain
        assert_eq!(secrets.len(), 2);
    }
}
