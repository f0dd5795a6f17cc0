//! Events API: `hex(HMAC-SHA256(secret, "<timestamp>." + body))`, with the
//! timestamp in its own header and checked against the clock.

use super::{Header, Secrets, SignatureError, decode_signature, sign_parts, tags_equal};
use ring::hmac;

/// The header of the request's Unix time, in seconds.
pub const TIMESTAMP_HEADER: &str = "x-akeneo-request-timestamp";
/// The header of the signature.
pub const SIGNATURE_HEADER: &str = "x-akeneo-request-signature";

/// The signature the PIM sends for `body` at `timestamp` (Unix seconds, as text).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    sign_parts(secret, &[timestamp.as_bytes(), b".", body])
}

/// The two headers the PIM sends with `body` signed at `unix_time`.
pub fn headers(secret: &str, unix_time: u64, body: &[u8]) -> [Header; 2] {
    let timestamp = unix_time.to_string();
    let signature = sign(secret, &timestamp, body);
    [(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)]
}

/// Checks the signature against every secret, then the timestamp within
/// `tolerance_secs` of `now_unix` either way. The signature comes first so that
/// a "stale" log line always means a genuine request and a clock to look at,
/// never a forgery.
pub fn verify(
    secrets: &Secrets,
    timestamp: Option<&[u8]>,
    signature: Option<&[u8]>,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    let sent_at = parse_unix_seconds(timestamp).ok_or(SignatureError::MalformedTimestamp)?;
    let expected = decode_signature(signature, SIGNATURE_HEADER)?;

    let matches = secrets.keys().iter().any(|key| {
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

fn parse_unix_seconds(value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value.trim_ascii()).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::testing::{SignatureVector, signature_vectors};

    fn vectors() -> Vec<SignatureVector> {
        let vectors = signature_vectors("events_api");
        assert_eq!(vectors.len(), 3, "the fixture has three Events API vectors");
        vectors
    }

    fn check(vector: &SignatureVector, secrets: &Secrets, now: i64) -> Result<(), SignatureError> {
        verify(
            secrets,
            Some(vector.text("timestamp").as_bytes()),
            Some(vector.text("signature").as_bytes()),
            &vector.body(),
            now,
            300,
        )
    }

    #[test]
    fn the_signer_reproduces_every_known_answer_vector() {
        for vector in vectors() {
            // GIVEN a vector computed with the documented algorithm
            // WHEN its body is signed with its secret at its timestamp
            let signed = sign(vector.text("secret"), vector.text("timestamp"), &vector.body());
            // THEN the signature is the vector's
            assert_eq!(signed, vector.text("signature"), "{}", vector.json);
        }
    }

    #[test]
    fn the_headers_carry_the_timestamp_and_its_signature() {
        // GIVEN the Test button vector (empty body)
        let vector = &vectors()[0];
        let timestamp: u64 = vector.text("timestamp").parse().expect("number");
        // WHEN the headers are built for it
        let [(ts_name, ts), (sig_name, sig)] = headers(vector.text("secret"), timestamp, b"");
        // THEN they are the two the PIM sends, with the vector's values
        assert_eq!(
            (ts_name, ts.as_str()),
            (TIMESTAMP_HEADER, vector.text("timestamp"))
        );
        assert_eq!(
            (sig_name, sig.as_str()),
            (SIGNATURE_HEADER, vector.text("signature"))
        );
    }

    #[test]
    fn every_vector_verifies_at_its_own_time_and_at_the_edges_of_the_tolerance() {
        for vector in vectors() {
            // GIVEN a vector and its secret
            let secrets = Secrets::new([vector.text("secret")]);
            let sent: i64 = vector.text("timestamp").parse().expect("number");
            for now in [sent, sent - 300, sent + 300] {
                // WHEN it is checked at most 300 s away
                // THEN it verifies
                assert_eq!(check(&vector, &secrets, now), Ok(()), "{} at {now}", vector.json);
            }
        }
    }

    #[test]
    fn a_vector_goes_stale_one_second_past_the_tolerance_either_way() {
        for vector in vectors() {
            // GIVEN a vector and its secret
            let secrets = Secrets::new([vector.text("secret")]);
            let sent: i64 = vector.text("timestamp").parse().expect("number");
            // WHEN it is checked 301 s later, or 301 s earlier
            let late = check(&vector, &secrets, sent + 301);
            let early = check(&vector, &secrets, sent - 301);
            // THEN it is stale, with the skew
            let stale = |skew_secs| {
                Err(SignatureError::StaleTimestamp {
                    skew_secs,
                    tolerance_secs: 300,
                })
            };
            assert_eq!((late, early), (stale(301), stale(-301)));
        }
    }

    #[test]
    fn any_of_several_secrets_may_match_during_a_rotation() {
        // GIVEN the relay holds a new secret and the one the vector was signed with
        let vector = &vectors()[1];
        let sent: i64 = vector.text("timestamp").parse().expect("number");
        let rotating = Secrets::parse_list(&format!("new-secret-not-live-yet , {}", vector.text("secret")));
        // WHEN the vector is checked
        // THEN it verifies
        assert_eq!(check(vector, &rotating, sent), Ok(()));
    }

    #[test]
    fn a_secret_that_did_not_sign_does_not_match() {
        // GIVEN the relay holds someone else's secret
        let vector = &vectors()[1];
        let sent: i64 = vector.text("timestamp").parse().expect("number");
        // WHEN the vector is checked
        let result = check(vector, &Secrets::new(["someone-elses-secret"]), sent);
        // THEN it is a mismatch
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_signature_covers_the_timestamp() {
        // GIVEN the PHP-escaped vector, replayed with a later timestamp
        let vector = &vectors()[2];
        let sent: i64 = vector.text("timestamp").parse().expect("number");
        let later = (sent + 1).to_string();
        // WHEN it is checked
        let secrets = Secrets::new([vector.text("secret")]);
        let result = verify(
            &secrets,
            Some(later.as_bytes()),
            Some(vector.text("signature").as_bytes()),
            &vector.body(),
            sent,
            300,
        );
        // THEN it is a mismatch
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_signature_covers_every_body_byte_so_re_serialised_json_fails() {
        // GIVEN the PHP-escaped vector's body with `\/` unescaped: the same JSON, other bytes
        let vector = &vectors()[2];
        let sent: i64 = vector.text("timestamp").parse().expect("number");
        let body = String::from_utf8(vector.body())
            .expect("utf-8")
            .replace("\\/", "/");
        assert_eq!(
            serde_json::from_str::<Value>(&body).expect("json"),
            serde_json::from_slice::<Value>(&vector.body()).expect("json")
        );
        // WHEN it is checked
        let secrets = Secrets::new([vector.text("secret")]);
        let result = verify(
            &secrets,
            Some(vector.text("timestamp").as_bytes()),
            Some(vector.text("signature").as_bytes()),
            body.as_bytes(),
            sent,
            300,
        );
        // THEN it is a mismatch
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        // GIVEN a secret and a well-formed signature
        let secrets = Secrets::new(["s"]);
        let sig = [b'a'; 64];
        let check = |ts: Option<&[u8]>, sig: Option<&[u8]>| verify(&secrets, ts, sig, b"{}", 0, 300);
        // WHEN a header is missing or malformed
        // THEN the error says which
        type Case<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, SignatureError);
        let cases: [Case; 6] = [
            (None, Some(&sig), SignatureError::MissingHeader(TIMESTAMP_HEADER)),
            (Some(b"0"), None, SignatureError::MissingHeader(SIGNATURE_HEADER)),
            (Some(b"-5"), Some(&sig), SignatureError::MalformedTimestamp),
            (Some(b"12abc"), Some(&sig), SignatureError::MalformedTimestamp),
            (
                Some(b"0"),
                Some(b"zz"),
                SignatureError::MalformedSignature(SIGNATURE_HEADER),
            ),
            (
                Some(b"0"),
                Some(&sig[..62]),
                SignatureError::MalformedSignature(SIGNATURE_HEADER),
            ),
        ];
        for (ts, sig, expected) in cases {
            assert_eq!(check(ts, sig), Err(expected));
        }
    }
}
