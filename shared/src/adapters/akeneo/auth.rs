//! Access tokens of an Akeneo connection (the OAuth password grant), for
//! every client of that connection: the PIM REST API and the Event Platform's
//! management API alike.
//!
//! One token call at a time; the token is cached and refreshed with the
//! refresh token a little before it expires (falling back to the password
//! grant when the refresh token is refused); after a 401, [`TokenProvider::reject`]
//! makes the next caller get a new one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use reqwest::Url;
use tokio::sync::Mutex;
use tokio::time::{Instant, timeout_at};

use super::transport::{Request, Transport, TransportError};
use crate::config::Credentials;
use crate::core::answers::{TOKEN_ANSWER_LIMIT, error_message, read_token_answer};

/// The token path under the PIM's URL.
pub const TOKEN_PATH: &str = "/api/oauth/v1/token";

/// A token is renewed when this much of its life is left (at most half of it).
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// An access token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// The `Authorization: Bearer …` header, marked sensitive.
    pub fn bearer_header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }

    /// The token itself, for clients that must send it in another header
    /// (the Event Platform's `x-pim-token`). Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
impl AccessToken {
    pub(crate) fn from_static_for_tests(token: &str) -> AccessToken {
        AccessToken(token.into())
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Why no token could be had. Never carries a credential or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint could not be reached, or gave up (see [`TransportError`]).
    #[error("token request failed: {0}")]
    Transport(#[from] TransportError),
    /// Wrong client id, secret, username or password, or a revoked connection.
    #[error("the PIM refused the connection's credentials ({status}): {message}")]
    Refused {
        /// The HTTP status (a 4xx other than 422).
        status: u16,
        /// Akeneo's error message.
        message: String,
    },
    /// Akeneo answers 422 "client_id … missing or does not match" when the
    /// client id or secret is wrong, or when the Basic header never reached
    /// it (a proxy that strips `Authorization`).
    #[error(
        "the PIM did not accept the client id and secret (422: {message}); check them, and that \
         no proxy in front of the PIM strips the Authorization header"
    )]
    ClientRefused {
        /// Akeneo's error message.
        message: String,
    },
    /// The token endpoint answered, but not with a token (a 3xx, or a 2xx that
    /// does not parse).
    #[error("the token endpoint answered {status} with something that is not a token")]
    InvalidAnswer {
        /// The HTTP status of that answer.
        status: u16,
    },
}

struct Cached {
    access: AccessToken,
    refresh: Option<AccessToken>,
    renew_at: Instant,
    expires_at: Instant,
}

enum Grant<'a> {
    Password,
    Refresh(&'a AccessToken),
}

/// Hands out a valid access token of one connection.
pub struct TokenProvider {
    transport: Arc<Transport>,
    token_url: Url,
    basic: HeaderValue,
    client_id: String,
    username: String,
    password: String,
    cached: Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("token_url", &self.token_url.as_str())
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// `base` is the PIM's URL; calls go through `transport` (its limit and retries).
    pub fn new(transport: Arc<Transport>, base: &Url, credentials: &Credentials) -> TokenProvider {
        let mut token_url = base.clone();
        token_url.set_path(TOKEN_PATH);
        let pair = format!("{}:{}", credentials.client_id, credentials.client_secret);
        let mut basic = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        basic.set_sensitive(true);
        TokenProvider {
            transport,
            token_url,
            basic,
            client_id: credentials.client_id.clone(),
            username: credentials.username.clone(),
            password: credentials.password.clone(),
            cached: Mutex::new(None),
        }
    }

    /// The connection's username (the `author` of the events it causes).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The connection's client id (which Akeneo's Event Platform documents as
    /// matching the author of the events it causes).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A token valid now: the cached one, or a refreshed or new one. One
    /// token call at a time; the others wait for it (within their deadline).
    pub async fn access_token(&self, deadline: Instant) -> Result<AccessToken, AuthError> {
        let Ok(mut cached) = timeout_at(deadline, self.cached.lock()).await else {
            return Err(TransportError::DeadlineExceeded {
                last: Some("waiting for another token call".into()),
            }
            .into());
        };
        let now = Instant::now();
        if let Some(current) = cached.as_ref().filter(|c| now < c.renew_at) {
            return Ok(current.access.clone());
        }
        let refreshed = match cached.as_ref().and_then(|c| c.refresh.clone()) {
            Some(refresh) => match self.grant(Grant::Refresh(&refresh), deadline).await {
                Ok(fresh) => Ok(fresh),
                // An expired or revoked refresh token: start again.
                Err(AuthError::Refused { .. }) => self.grant(Grant::Password, deadline).await,
                Err(error) => Err(error),
            },
            None => self.grant(Grant::Password, deadline).await,
        };
        match refreshed {
            Ok(fresh) => {
                let access = fresh.access.clone();
                *cached = Some(fresh);
                Ok(access)
            }
            // The PIM is unreachable but the current token still lives: use it.
            Err(AuthError::Transport(error)) => match cached.as_ref().filter(|c| now < c.expires_at) {
                Some(current) => Ok(current.access.clone()),
                None => Err(error.into()),
            },
            Err(error) => Err(error),
        }
    }

    /// The PIM answered 401 to `token`: the next caller gets another one. A
    /// no-op when the token was replaced already.
    pub async fn reject(&self, token: &AccessToken) {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_mut().filter(|c| &c.access == token) {
            let now = Instant::now();
            current.renew_at = now;
            current.expires_at = now;
        }
    }

    async fn grant(&self, grant: Grant<'_>, deadline: Instant) -> Result<Cached, AuthError> {
        let body = match grant {
            Grant::Password => serde_json::json!({
                "grant_type": "password",
                "username": self.username,
                "password": self.password,
            }),
            Grant::Refresh(refresh) => serde_json::json!({
                "grant_type": "refresh_token",
                "refresh_token": refresh.expose(),
            }),
        };
        let request = Request {
            authorization: Some(self.basic.clone()),
            body: Some(("application/json", Bytes::from(body.to_string()))),
            ..Request::new(Method::POST, self.token_url.clone(), TOKEN_ANSWER_LIMIT)
        };
        let asked_at = Instant::now();
        let answer = self.transport.send(&request, deadline).await?;
        let status = answer.status;
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            return Err(AuthError::ClientRefused {
                message: error_message(&answer.body),
            });
        }
        if status.is_client_error() {
            return Err(AuthError::Refused {
                status: status.as_u16(),
                message: error_message(&answer.body),
            });
        }
        let invalid = || AuthError::InvalidAnswer {
            status: status.as_u16(),
        };
        if !status.is_success() {
            return Err(invalid());
        }
        // The lifetime is capped when read, so it cannot overflow the clock.
        let token = read_token_answer(&answer.body).map_err(|_| invalid())?;
        let lifetime = token.lifetime;
        let renew_before = RENEW_BEFORE_EXPIRY.min(lifetime / 2);
        tracing::debug!(
            grant = match grant {
                Grant::Password => "password",
                Grant::Refresh(_) => "refresh_token",
            },
            expires_in_secs = lifetime.as_secs(),
            "Akeneo access token obtained"
        );
        let expires_at = asked_at.checked_add(lifetime).unwrap_or(asked_at);
        Ok(Cached {
            access: AccessToken(token.access_token.into()),
            refresh: token.refresh_token.map(|t| AccessToken(t.into())),
            renew_at: expires_at.checked_sub(renew_before).unwrap_or(asked_at),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_and_a_provider_never_print_a_secret() {
        // GIVEN a token, and a provider built from credentials
        let token = AccessToken("the-token-value".into());
        let transport = Arc::new(Transport::new(1, Default::default()).expect("client"));
        let credentials = Credentials {
            client_id: "id".into(),
            client_secret: "client-secret-value".into(),
            username: "relay".into(),
            password: "password-value".into(),
        };
        let provider = TokenProvider::new(transport, &Url::parse("https://pim").expect("url"), &credentials);
        // WHEN they are debug-printed
        let printed = format!("{token:?} {provider:?}");
        // THEN no token, secret or password shows
        for secret in ["the-token-value", "client-secret-value", "password-value"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(!format!("{:?}", token.bearer_header()).contains("the-token-value"));
    }
}
