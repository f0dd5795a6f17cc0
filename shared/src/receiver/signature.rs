//! HMAC-SHA256 verification over the raw body, for both protocols.

use std::fmt;

use ring::hmac;

pub const EVENTS_API_TIMESTAMP: &str = "x-akeneo-request-timestamp";
pub const EVENTS_API_SIGNATURE: &str = "x-akeneo-request-signature";
pub const EVENT_PLATFORM_PRIMARY: &str = "x-akeneo-signature-primary";
pub const EVENT_PLATFORM_SECONDARY: &str = "x-akeneo-signature-secondary";
pub const EVENT_PLATFORM_ALGORITHM: &str = "x-akeneo-signature-algorithm";

const SHA256_LEN: usize = 32;

/// The secrets live for one route. Keys are prepared once at init; `Debug` never
/// shows them.
#[derive(Clone, Default)]
pub struct Secrets {
    keys: Vec<hmac::Key>,
}

impl Secrets {
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Secrets {
        let keys = secrets
            .into_iter()
            .map(|secret| hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref().as_bytes()))
            .collect();
        Secrets { keys }
    }

    /// Splits a comma-separated list, ignoring blanks around and between items.
    pub fn parse_list(list: &str) -> Secrets {
        Secrets::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
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
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    #[error("header {0} is not a hex SHA-256 signature")]
    MalformedSignature(&'static str),
    #[error("header {EVENTS_API_TIMESTAMP} is not a Unix time in seconds")]
    MalformedTimestamp,
    #[error("algorithm {0:?} is not supported (expected HmacSHA256)")]
    UnsupportedAlgorithm(String),
    #[error("no configured secret matches the signature")]
    Mismatch,
    #[error("timestamp is {skew_secs} s away from now, over the {tolerance_secs} s tolerance")]
    StaleTimestamp { skew_secs: i64, tolerance_secs: u64 },
}

/// Events API: `hex(HMAC(secret, "<timestamp>." + body))`, and the timestamp within
/// `tolerance_secs` of `now_unix` either way. The signature is checked before the
/// clock so that a "stale" log line always means a genuine request and a clock to
/// look at, never a forgery.
pub fn verify_events_api(
    secrets: &Secrets,
    timestamp: Option<&[u8]>,
    signature: Option<&[u8]>,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::MissingHeader(EVENTS_API_TIMESTAMP))?;
    let signature = signature.ok_or(SignatureError::MissingHeader(EVENTS_API_SIGNATURE))?;
    let sent_at = parse_unix_seconds(timestamp).ok_or(SignatureError::MalformedTimestamp)?;
    let expected = decode_signature(signature, EVENTS_API_SIGNATURE)?;

    let matches = secrets.keys.iter().any(|key| {
        let mut mac = hmac::Context::with_key(key);
        mac.update(timestamp);
        mac.update(b".");
        mac.update(body);
        tags_equal(mac.sign().as_ref(), &expected)
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }

    let skew_secs = now_unix.saturating_sub(sent_at);
    if skew_secs.unsigned_abs() > tolerance_secs {
        return Err(SignatureError::StaleTimestamp {
            skew_secs,
            tolerance_secs,
        });
    }
    Ok(())
}

/// Event Platform: `hex(HMAC(secret, body))` in a primary and an optional
/// secondary header. Either header may match any configured secret, so both sides
/// can rotate independently. One HMAC pass per secret, whatever the header count.
pub fn verify_event_platform(
    secrets: &Secrets,
    primary: Option<&[u8]>,
    secondary: Option<&[u8]>,
    algorithm: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    if let Some(algorithm) = algorithm
        && !algorithm.eq_ignore_ascii_case(b"HmacSHA256")
    {
        let shown = String::from_utf8_lossy(&algorithm[..algorithm.len().min(32)]).into_owned();
        return Err(SignatureError::UnsupportedAlgorithm(shown));
    }
    let mut candidates = Vec::with_capacity(2);
    for (header, name) in [
        (primary, EVENT_PLATFORM_PRIMARY),
        (secondary, EVENT_PLATFORM_SECONDARY),
    ] {
        if let Some(value) = header {
            candidates.push(decode_signature(value, name)?);
        }
    }
    if candidates.is_empty() {
        return Err(SignatureError::MissingHeader(EVENT_PLATFORM_PRIMARY));
    }

    let matches = secrets.keys.iter().any(|key| {
        let tag = hmac::sign(key, body);
        // Compare against every candidate so timing does not reveal which matched.
        candidates.iter().fold(false, |found, candidate| {
            tags_equal(tag.as_ref(), candidate) | found
        })
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
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

fn parse_unix_seconds(value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value.trim_ascii()).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fixture, signature_vectors};

    fn vector_body(vector: &serde_json::Value) -> Vec<u8> {
        match vector.get("body_file") {
            Some(file) => fixture(file.as_str().unwrap()),
            None => vector["body"].as_str().unwrap().as_bytes().to_vec(),
        }
    }

    fn text<'a>(vector: &'a serde_json::Value, key: &str) -> &'a str {
        vector[key].as_str().unwrap()
    }

    fn events_api_check(
        vector: &serde_json::Value,
        secrets: &Secrets,
        now: i64,
    ) -> Result<(), SignatureError> {
        let timestamp = text(vector, "timestamp");
        verify_events_api(
            secrets,
            Some(timestamp.as_bytes()),
            Some(text(vector, "signature").as_bytes()),
            &vector_body(vector),
            now,
            300,
        )
    }

    #[test]
    fn every_events_api_vector_verifies_at_its_own_time_and_within_tolerance() {
        let vectors = signature_vectors();
        let vectors = vectors["events_api"].as_array().unwrap();
        assert_eq!(vectors.len(), 3);
        for vector in vectors {
            let secrets = Secrets::new([text(vector, "secret")]);
            let sent: i64 = text(vector, "timestamp").parse().unwrap();
            for now in [sent, sent - 300, sent + 300] {
                assert_eq!(
                    events_api_check(vector, &secrets, now),
                    Ok(()),
                    "{vector} at {now}"
                );
            }
        }
    }

    #[test]
    fn events_api_vectors_go_stale_one_second_past_the_tolerance_either_way() {
        let vectors = signature_vectors();
        for vector in vectors["events_api"].as_array().unwrap() {
            let secrets = Secrets::new([text(vector, "secret")]);
            let sent: i64 = text(vector, "timestamp").parse().unwrap();
            assert_eq!(
                events_api_check(vector, &secrets, sent + 301),
                Err(SignatureError::StaleTimestamp {
                    skew_secs: 301,
                    tolerance_secs: 300
                })
            );
            assert_eq!(
                events_api_check(vector, &secrets, sent - 301),
                Err(SignatureError::StaleTimestamp {
                    skew_secs: -301,
                    tolerance_secs: 300
                })
            );
        }
    }

    #[test]
    fn events_api_accepts_any_of_several_secrets_and_refuses_others() {
        let vectors = signature_vectors();
        let vector = &vectors["events_api"][1];
        let sent: i64 = text(vector, "timestamp").parse().unwrap();
        let rotated = Secrets::parse_list(&format!("new-secret-not-live-yet , {}", text(vector, "secret")));
        assert_eq!(rotated.len(), 2);
        assert_eq!(events_api_check(vector, &rotated, sent), Ok(()));
        let wrong = Secrets::new(["someone-elses-secret"]);
        assert_eq!(
            events_api_check(vector, &wrong, sent),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn events_api_signature_covers_timestamp_and_every_body_byte() {
        let vectors = signature_vectors();
        let vector = &vectors["events_api"][2];
        let secrets = Secrets::new([text(vector, "secret")]);
        let sent: i64 = text(vector, "timestamp").parse().unwrap();
        let signature = text(vector, "signature").as_bytes();
        let body = vector_body(vector);
        // Unescaping `\/` gives the same JSON but not the same bytes.
        let unescaped = String::from_utf8(body.clone()).unwrap().replace("\\/", "/");
        let later = (sent + 1).to_string();
        let cases: [(&[u8], &[u8]); 2] = [
            (later.as_bytes(), &body),
            (text(vector, "timestamp").as_bytes(), unescaped.as_bytes()),
        ];
        for (timestamp, body) in cases {
            let result = verify_events_api(&secrets, Some(timestamp), Some(signature), body, sent, 300);
            assert_eq!(result, Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn events_api_reports_missing_and_malformed_headers() {
        let secrets = Secrets::new(["s"]);
        let sig = [b'a'; 64];
        let check =
            |ts: Option<&[u8]>, sig: Option<&[u8]>| verify_events_api(&secrets, ts, sig, b"{}", 0, 300);
        assert_eq!(
            check(None, Some(&sig)),
            Err(SignatureError::MissingHeader(EVENTS_API_TIMESTAMP))
        );
        assert_eq!(
            check(Some(b"0"), None),
            Err(SignatureError::MissingHeader(EVENTS_API_SIGNATURE))
        );
        assert_eq!(
            check(Some(b"-5"), Some(&sig)),
            Err(SignatureError::MalformedTimestamp)
        );
        assert_eq!(
            check(Some(b"12abc"), Some(&sig)),
            Err(SignatureError::MalformedTimestamp)
        );
        assert_eq!(
            check(Some(b"0"), Some(b"zz")),
            Err(SignatureError::MalformedSignature(EVENTS_API_SIGNATURE))
        );
        assert_eq!(
            check(Some(b"0"), Some(&sig[..62])),
            Err(SignatureError::MalformedSignature(EVENTS_API_SIGNATURE))
        );
    }

    #[test]
    fn every_event_platform_vector_verifies_with_either_header_against_either_secret() {
        let vectors = signature_vectors();
        let vectors = vectors["event_platform"].as_array().unwrap();
        assert_eq!(vectors.len(), 2);
        for vector in vectors {
            let body = vector_body(vector);
            let primary = text(vector, "primary_signature").as_bytes();
            let secondary = text(vector, "secondary_signature").as_bytes();
            let (p, s) = (text(vector, "primary_secret"), text(vector, "secondary_secret"));
            let both = Secrets::new([p, s]);
            let only_primary = Secrets::new([p]);
            let only_secondary = Secrets::new([s]);
            let algorithm = Some(&b"HmacSHA256"[..]);
            let ok = |secrets: &Secrets, primary: Option<&[u8]>, secondary: Option<&[u8]>| {
                verify_event_platform(secrets, primary, secondary, algorithm, &body)
            };
            assert_eq!(ok(&both, Some(primary), Some(secondary)), Ok(()));
            assert_eq!(ok(&only_primary, Some(primary), None), Ok(()));
            assert_eq!(ok(&only_primary, Some(primary), Some(secondary)), Ok(()));
            // The relay already holds the new secret while Akeneo still signs
            // with it as secondary, and the other way round.
            assert_eq!(ok(&only_secondary, Some(primary), Some(secondary)), Ok(()));
            assert_eq!(ok(&only_secondary, Some(secondary), None), Ok(()));
            assert_eq!(
                ok(&Secrets::new(["other"]), Some(primary), Some(secondary)),
                Err(SignatureError::Mismatch)
            );
            // The secondary signature under the primary header with only the
            // primary secret must not pass.
            assert_eq!(
                ok(&only_primary, Some(secondary), None),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn event_platform_rejects_tampered_bodies_missing_headers_and_other_algorithms() {
        let vectors = signature_vectors();
        let vector = &vectors["event_platform"][0];
        let secrets = Secrets::new([text(vector, "primary_secret")]);
        let primary = text(vector, "primary_signature").as_bytes();
        let mut body = vector_body(vector);
        let last = body.len() - 1;
        body[last] = b' ';
        assert_eq!(
            verify_event_platform(&secrets, Some(primary), None, None, &body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_event_platform(&secrets, None, None, None, b"{}"),
            Err(SignatureError::MissingHeader(EVENT_PLATFORM_PRIMARY))
        );
        assert_eq!(
            verify_event_platform(&secrets, Some(primary), None, Some(b"HmacSHA1"), &body),
            Err(SignatureError::UnsupportedAlgorithm("HmacSHA1".into()))
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secrets = Secrets::parse_list("hunter2, swordfish");
        let shown = format!("{secrets:?}");
        assert_eq!(shown, "Secrets(2 redacted)");
    }
}
