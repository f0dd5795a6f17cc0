//! Signing secrets the relay makes itself.

use ring::rand::{SecureRandom, SystemRandom};

/// 32 random bytes, 64 hex characters: within Akeneo's 16–256 characters, no
/// comma (the secret lists are comma-separated), nothing to escape.
pub fn generate() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_secret_is_new_and_64_hex_characters() {
        // GIVEN two generated secrets
        let (a, b) = (
            super::generate().expect("random"),
            super::generate().expect("random"),
        );
        // WHEN they are compared
        // THEN they differ and are 64 hex characters
        assert_ne!(a, b);
        assert!(a.len() == 64 && a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
