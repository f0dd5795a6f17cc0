//! Event Platform: `hex(HMAC-SHA256(secret, body))` in a primary and an optional
//! secondary header, one per subscription secret; no timestamp is signed.

use super::{Header, Secrets, SignatureError, decode_signature, sign_parts, tags_equal};
use ring::hmac;

/// The header of the signature with the subscription's primary secret.
pub const PRIMARY_HEADER: &str = "x-akeneo-signature-primary";
/// The header of the signature with its secondary secret, during a rotation.
pub const SECONDARY_HEADER: &str = "x-akeneo-signature-secondary";
/// The header naming the algorithm.
pub const ALGORITHM_HEADER: &str = "x-akeneo-signature-algorithm";
/// The only algorithm Akeneo uses (compared ignoring case).
pub const ALGORITHM: &str = "HmacSHA256";

/// The signature the Event Platform sends for `body` with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    sign_parts(secret, &[body])
}

/// The headers the Event Platform sends with `body`: the algorithm, the primary
/// signature, and the secondary one when the subscription has a second secret.
pub fn headers(primary: &str, secondary: Option<&str>, body: &[u8]) -> Vec<Header> {
    let mut headers = vec![
        (ALGORITHM_HEADER, ALGORITHM.to_owned()),
        (PRIMARY_HEADER, sign(primary, body)),
    ];
    if let Some(secondary) = secondary {
        headers.push((SECONDARY_HEADER, sign(secondary, body)));
    }
    headers
}

/// Either header may match any configured secret, so both sides can rotate
/// independently. One HMAC pass per secret, whatever the header count.
pub fn verify(
    secrets: &Secrets,
    primary: Option<&[u8]>,
    secondary: Option<&[u8]>,
    algorithm: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    if let Some(algorithm) = algorithm
        && !algorithm.eq_ignore_ascii_case(ALGORITHM.as_bytes())
    {
        let shown = String::from_utf8_lossy(&algorithm[..algorithm.len().min(32)]).into_owned();
        return Err(SignatureError::UnsupportedAlgorithm(shown));
    }
    // An empty or malformed header counts as absent: it must not veto a valid
    // signature in the other one. Its error is kept for when nothing else is left.
    let mut candidates = Vec::with_capacity(2);
    let mut unreadable = None;
    for (header, name) in [(primary, PRIMARY_HEADER), (secondary, SECONDARY_HEADER)] {
        match header
            .filter(|value| !value.is_empty())
            .map(|value| decode_signature(value, name))
        {
            Some(Ok(candidate)) => candidates.push(candidate),
            Some(Err(error)) => unreadable = unreadable.or(Some(error)),
            None => {}
        }
    }
    if candidates.is_empty() {
        return Err(unreadable.unwrap_or(SignatureError::MissingHeader(PRIMARY_HEADER)));
    }

    let matches = secrets.keys().iter().any(|key| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SignatureVector, fixture, signature_vectors};

    fn vectors() -> Vec<SignatureVector> {
        let vectors = signature_vectors("event_platform");
        assert_eq!(vectors.len(), 2, "the fixture has two Event Platform vectors");
        vectors
    }

    /// The vector's signatures and a check of them against `secrets`.
    struct Signed {
        body: Vec<u8>,
        primary: String,
        secondary: String,
    }

    impl Signed {
        fn of(vector: &SignatureVector) -> Signed {
            Signed {
                body: vector.body(),
                primary: vector.text("primary_signature").to_owned(),
                secondary: vector.text("secondary_signature").to_owned(),
            }
        }

        fn check(
            &self,
            secrets: &[&str],
            primary: Option<&str>,
            secondary: Option<&str>,
        ) -> Result<(), SignatureError> {
            verify(
                &Secrets::new(secrets),
                primary.map(str::as_bytes),
                secondary.map(str::as_bytes),
                Some(ALGORITHM.as_bytes()),
                &self.body,
            )
        }
    }

    #[test]
    fn the_signer_reproduces_every_known_answer_vector() {
        for vector in vectors() {
            // GIVEN a vector signed with a primary and a secondary secret
            let (primary, secondary) = (vector.text("primary_secret"), vector.text("secondary_secret"));
            // WHEN its body's headers are built with both secrets
            let headers = headers(primary, Some(secondary), &vector.body());
            // THEN they carry the algorithm and the vector's two signatures
            assert_eq!(
                headers,
                vec![
                    (ALGORITHM_HEADER, ALGORITHM.to_owned()),
                    (PRIMARY_HEADER, vector.text("primary_signature").to_owned()),
                    (SECONDARY_HEADER, vector.text("secondary_signature").to_owned()),
                ]
            );
        }
    }

    #[test]
    fn both_signatures_verify_against_both_secrets() {
        for vector in vectors() {
            // GIVEN the relay holds both secrets
            let signed = Signed::of(&vector);
            let both = [vector.text("primary_secret"), vector.text("secondary_secret")];
            // WHEN both headers are sent
            let result = signed.check(&both, Some(&signed.primary), Some(&signed.secondary));
            // THEN the request verifies
            assert_eq!(result, Ok(()));
        }
    }

    #[test]
    fn the_primary_alone_verifies_against_the_primary_secret() {
        for vector in vectors() {
            // GIVEN the relay holds only the primary secret
            let signed = Signed::of(&vector);
            let secrets = [vector.text("primary_secret")];
            // WHEN the primary header comes alone, or with the secondary
            // THEN the request verifies
            assert_eq!(signed.check(&secrets, Some(&signed.primary), None), Ok(()));
            assert_eq!(
                signed.check(&secrets, Some(&signed.primary), Some(&signed.secondary)),
                Ok(())
            );
        }
    }

    #[test]
    fn the_secondary_verifies_when_the_relay_already_holds_only_the_new_secret() {
        for vector in vectors() {
            // GIVEN the relay was switched to the secret Akeneo still signs with as secondary
            let signed = Signed::of(&vector);
            let secrets = [vector.text("secondary_secret")];
            // WHEN the request carries both headers, or the new signature as primary
            // THEN it verifies
            assert_eq!(
                signed.check(&secrets, Some(&signed.primary), Some(&signed.secondary)),
                Ok(())
            );
            assert_eq!(signed.check(&secrets, Some(&signed.secondary), None), Ok(()));
        }
    }

    #[test]
    fn a_signature_made_with_another_secret_does_not_match() {
        for vector in vectors() {
            // GIVEN the relay holds only the primary secret
            let signed = Signed::of(&vector);
            // WHEN the only header carries the secondary secret's signature, or the
            // relay holds a secret that signed nothing
            let swapped = signed.check(&[vector.text("primary_secret")], Some(&signed.secondary), None);
            let other = signed.check(&["other"], Some(&signed.primary), Some(&signed.secondary));
            // THEN neither matches
            assert_eq!(
                (swapped, other),
                (Err(SignatureError::Mismatch), Err(SignatureError::Mismatch))
            );
        }
    }

    #[test]
    fn a_tampered_body_does_not_match() {
        // GIVEN a signed fixture whose last byte was changed
        let vector = &vectors()[0];
        let signed = Signed::of(vector);
        let mut body = fixture(vector.text("body_file"));
        let last = body.len() - 1;
        body[last] = b' ';
        // WHEN it is checked
        let secrets = Secrets::new([vector.text("primary_secret")]);
        let result = verify(&secrets, Some(signed.primary.as_bytes()), None, None, &body);
        // THEN it is a mismatch
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn an_empty_or_malformed_secondary_does_not_veto_a_valid_primary() {
        for vector in vectors() {
            // GIVEN the relay holds the primary secret
            let signed = Signed::of(&vector);
            let secrets = [vector.text("primary_secret")];
            // WHEN the valid primary comes with an empty, a non-hex or a truncated secondary
            let results: Vec<_> = ["", "not-hex", &signed.secondary[..10]]
                .into_iter()
                .map(|secondary| signed.check(&secrets, Some(&signed.primary), Some(secondary)))
                .collect();
            // THEN each verifies: an unreadable header counts as absent
            assert_eq!(results, [Ok(()), Ok(()), Ok(())]);
        }
    }

    #[test]
    fn an_empty_or_malformed_primary_does_not_veto_a_valid_secondary() {
        for vector in vectors() {
            // GIVEN the relay holds only the secondary secret
            let signed = Signed::of(&vector);
            let secrets = [vector.text("secondary_secret")];
            // WHEN the valid secondary comes with an empty or a non-hex primary
            let results: Vec<_> = ["", "zz"]
                .into_iter()
                .map(|primary| signed.check(&secrets, Some(primary), Some(&signed.secondary)))
                .collect();
            // THEN each verifies
            assert_eq!(results, [Ok(()), Ok(())]);
        }
    }

    #[test]
    fn two_unreadable_headers_are_refused_as_malformed() {
        // GIVEN a request whose two headers are not signatures
        let signed = Signed::of(&vectors()[0]);
        // WHEN it is checked
        let result = signed.check(&["s"], Some("zz"), Some(""));
        // THEN the malformed header is named
        assert_eq!(result, Err(SignatureError::MalformedSignature(PRIMARY_HEADER)));
    }

    #[test]
    fn a_request_without_signature_headers_is_missing_the_primary() {
        // GIVEN no signature header
        // WHEN it is checked
        let result = verify(&Secrets::new(["s"]), None, None, None, b"{}");
        // THEN the primary header is named as missing
        assert_eq!(result, Err(SignatureError::MissingHeader(PRIMARY_HEADER)));
    }

    #[test]
    fn an_algorithm_other_than_hmac_sha256_is_refused() {
        // GIVEN a valid signature announced as HmacSHA1
        let vector = &vectors()[0];
        let signed = Signed::of(vector);
        let secrets = Secrets::new([vector.text("primary_secret")]);
        // WHEN it is checked
        let result = verify(
            &secrets,
            Some(signed.primary.as_bytes()),
            None,
            Some(b"HmacSHA1"),
            &signed.body,
        );
        // THEN the algorithm is refused
        assert_eq!(
            result,
            Err(SignatureError::UnsupportedAlgorithm("HmacSHA1".into()))
        );
    }
}
