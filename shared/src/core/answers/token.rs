//! The token endpoint's answer (`POST /api/oauth/v1/token`), read so that no
//! value in it can overflow a clock or make an invalid header.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Akeneo's connections get tokens of one hour; an answer without a usable
/// `expires_in` is taken to mean that.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest a token is used before a new one is asked for, whatever the
/// answer says: a day.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The longest token accepted. Akeneo's are under 100 characters.
const MAX_TOKEN_LENGTH: usize = 4096;

/// A token answer, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The access token, safe to put in a header.
    pub access_token: String,
    /// The refresh token, when there is one safe to send back.
    pub refresh_token: Option<String>,
    /// `expires_in`, within [`MAX_TOKEN_LIFETIME`].
    pub lifetime: Duration,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("lifetime", &self.lifetime)
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// The answer is not a token this client can send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the answer is not a usable access token")]
pub struct NotAToken;

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    refresh_token: Option<Value>,
}

/// Reads a token answer: the tokens must be printable ASCII without spaces,
/// at most 4 096 bytes; an absent or unusable `expires_in` means an hour.
pub fn read_token_answer(body: &[u8]) -> Result<TokenGrant, NotAToken> {
    let answer: Answer = serde_json::from_slice(body).map_err(|_| NotAToken)?;
    if !is_header_safe(&answer.access_token) {
        return Err(NotAToken);
    }
    // A refresh token that cannot be sent back is as good as none: the
    // password grant is used instead when the access token runs out.
    let refresh_token = match answer.refresh_token {
        Some(Value::String(token)) if is_header_safe(&token) => Some(token),
        _ => None,
    };
    Ok(TokenGrant {
        access_token: answer.access_token,
        refresh_token,
        lifetime: lifetime(answer.expires_in.as_ref()),
    })
}

/// A whole number of seconds, capped; anything else is the default.
fn lifetime(expires_in: Option<&Value>) -> Duration {
    let seconds = match expires_in {
        Some(Value::Number(number)) => number.as_u64().or_else(|| {
            // Beyond u64 (serde_json reads it as a float) is simply long.
            number
                .as_f64()
                .filter(|f| *f >= u64::MAX as f64)
                .map(|_| u64::MAX)
        }),
        _ => None,
    };
    seconds.map_or(DEFAULT_TOKEN_LIFETIME, |s| {
        Duration::from_secs(s).min(MAX_TOKEN_LIFETIME)
    })
}

/// Non-empty, bounded, and printable ASCII without spaces: what can go in a
/// header as it came.
fn is_header_safe(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN_LENGTH && token.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn akeneos_documented_answer_is_read() {
        // GIVEN the answer PIM-API.md shows
        let body = br#"{"access_token":"NzFiYTM4ZTEwMjcwZTcyZWIzZTA0NmY3NjE3MTIyMjM1Y2NlMmNlNWEyMTAzY2UzYmY0YWIxYmUzNTkyMDcyNQ","expires_in":3600,"token_type":"bearer","scope":null,"refresh_token":"MDk2ZmIwODBkYmE3YjNjZWQ4ZTk2NTk2N2JmNjkyZDQ4NzA3YzhiZDQzMjJjODI5MmQ4ZmYxZjlkZmU1ZDNkMQ"}"#;
        // WHEN it is read
        let grant = read_token_answer(body).expect("a token");
        // THEN both tokens and the hour are there
        assert!(grant.access_token.starts_with("NzFi"));
        assert!(grant.refresh_token.is_some());
        assert_eq!(grant.lifetime, Duration::from_secs(3600));
    }

    #[test]
    fn a_lifetime_past_any_clock_is_capped_at_a_day() {
        // GIVEN expires_in of u64::MAX and of 1e300
        // WHEN the answers are read
        // THEN the token lives a day, not forever
        for expires_in in ["18446744073709551615", "1e300", "99999999999999999999999"] {
            let body = format!(r#"{{"access_token":"t","expires_in":{expires_in}}}"#);
            assert_eq!(
                read_token_answer(body.as_bytes()).expect("a token").lifetime,
                MAX_TOKEN_LIFETIME,
                "{expires_in}"
            );
        }
    }

    #[test]
    fn a_lifetime_that_is_not_a_whole_number_is_the_default_hour() {
        // GIVEN expires_in negative, fractional, text, or absent
        // WHEN the answers are read
        // THEN the token is taken to live an hour
        for expires_in in [
            r#","expires_in":-5"#,
            r#","expires_in":1.5"#,
            r#","expires_in":"3600""#,
            "",
        ] {
            let body = format!(r#"{{"access_token":"t"{expires_in}}}"#);
            assert_eq!(
                read_token_answer(body.as_bytes()).expect("a token").lifetime,
                DEFAULT_TOKEN_LIFETIME,
                "{expires_in}"
            );
        }
    }

    #[test]
    fn a_token_that_cannot_go_in_a_header_is_refused() {
        // GIVEN tokens that are empty, hold a line break or a space, or are huge
        let huge = "a".repeat(MAX_TOKEN_LENGTH + 1);
        for token in ["", "a\r\nX-Injected: 1", "a b", huge.as_str()] {
            let body = serde_json::json!({ "access_token": token }).to_string();
            // WHEN they are read
            // THEN none is a token
            assert_eq!(read_token_answer(body.as_bytes()), Err(NotAToken), "{token:.20}");
        }
    }

    #[test]
    fn an_unusable_refresh_token_is_dropped_not_fatal() {
        // GIVEN a good access token with a refresh token that is a number
        let grant = read_token_answer(br#"{"access_token":"t","refresh_token":12}"#).expect("a token");
        // WHEN it is read
        // THEN there is no refresh token
        assert_eq!(grant.refresh_token, None);
    }

    #[test]
    fn a_grant_never_prints_its_tokens() {
        // GIVEN a grant
        let grant =
            read_token_answer(br#"{"access_token":"secret-a","refresh_token":"secret-r"}"#).expect("a token");
        // WHEN it is debug-printed
        let printed = format!("{grant:?}");
        // THEN neither token shows
        assert!(
            !printed.contains("secret-a") && !printed.contains("secret-r"),
            "{printed}"
        );
    }
}
