//! Signing a forwarded event the Standard Webhooks way
//! (<https://www.standardwebhooks.com>), so the receiving application verifies
//! it with its language's off-the-shelf library: `webhook-id`,
//! `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "<id>.<timestamp>.<body>">`, keyed with the base64-decoded secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

/// The prefix the specification gives secrets; accepted, not required.
pub const SECRET_PREFIX: &str = "whsec_";

/// The header of the delivery's id.
pub const ID_HEADER: &str = "webhook-id";
/// The header of its Unix time, in seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header of its signatures (`v1,<base64>`).
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Why a forwarding secret cannot be used; never shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not base64 after the optional `whsec_` prefix.
    #[error("the forwarding secret is not base64 (after an optional whsec_ prefix)")]
    NotBase64,
    /// Fewer than 24 bytes once decoded.
    #[error("the forwarding secret holds {0} bytes; at least 24 are needed")]
    TooShort(usize),
}

/// A signing key, read from its text form (`whsec_<base64>` or the bare
/// base64). Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct SigningKey(hmac::Key);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

impl SigningKey {
    /// Reads `whsec_<base64>` or the bare base64, of at least 24 bytes.
    pub fn parse(text: &str) -> Result<SigningKey, SecretError> {
        let text = text.trim();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        // The specification asks for 24 to 64 random bytes.
        if key.len() < 24 {
            return Err(SecretError::TooShort(key.len()));
        }
        Ok(SigningKey(hmac::Key::new(hmac::HMAC_SHA256, &key)))
    }

    /// The `webhook-signature` value for one delivery.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }
}

/// The `webhook-id` of an event: Akeneo's id, the same on every retry so the
/// receiver can deduplicate; an event without one is named by its bytes.
pub fn webhook_id(event_id: Option<&str>, raw: &[u8]) -> String {
    match event_id.filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic())) {
        Some(id) => id.to_owned(),
        None => {
            let digest = ring::digest::digest(&ring::digest::SHA256, raw);
            format!("sha256_{}", hex::encode(&digest.as_ref()[..16]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_signs_to_its_published_signature() {
        // GIVEN the secret, id, timestamp and body of the specification's example
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a valid secret");
        // WHEN it is signed
        let signature = key.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        // THEN the signature is the published one
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_without_its_prefix_signs_the_same() {
        // GIVEN the same key with and without whsec_
        let prefixed = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        let bare = SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        // WHEN both sign one delivery
        // THEN the signatures are equal
        assert_eq!(prefixed.sign("id", 1, b"{}"), bare.sign("id", 1, b"{}"));
    }

    #[test]
    fn a_short_or_garbled_secret_is_refused() {
        // GIVEN a secret of 6 bytes and one that is not base64
        // WHEN they are read
        // THEN both are refused, saying why
        assert_eq!(
            SigningKey::parse("whsec_c2hvcnQh").err(),
            Some(SecretError::TooShort(6))
        );
        assert_eq!(
            SigningKey::parse("whsec_not base64!").err(),
            Some(SecretError::NotBase64)
        );
    }

    #[test]
    fn an_event_without_an_id_is_named_by_its_bytes() {
        // GIVEN the same bytes twice, and an id with a space
        // WHEN their webhook ids are made
        let first = webhook_id(None, b"{\"a\":1}");
        let again = webhook_id(Some("has space"), b"{\"a\":1}");
        // THEN both are the same stable digest name
        assert_eq!(first, again);
        assert!(first.starts_with("sha256_") && first.len() == 39, "{first}");
        assert_eq!(webhook_id(Some("e-1"), b"{}"), "e-1");
    }
}
