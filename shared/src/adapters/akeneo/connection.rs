//! One Akeneo connection in this process: its HTTP transport (and so its limit
//! on calls in flight) and its tokens, shared by every client built for it, so
//! that the processor's enrichment and the business logic's own calls count
//! against one limit and use one token.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use reqwest::Url;
use tokio::time::Instant;

use super::auth::{AccessToken, AuthError, TokenProvider};
use super::transport::{Answer, BuildError, Request, RetryPolicy, Transport, TransportError};
use crate::config::{Credentials, DEFAULT_MAX_CONCURRENT_CALLS};

/// How a connection's calls are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Calls in flight at most, in this process, for this connection.
    pub max_concurrent_calls: usize,
    /// How each call is retried.
    pub retry: RetryPolicy,
}

impl Default for ConnectionSettings {
    fn default() -> ConnectionSettings {
        ConnectionSettings {
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            retry: RetryPolicy::default(),
        }
    }
}

/// A call with the connection's token failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The call gave up (see [`TransportError`]).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// 401 twice: with the token held, then with a new one.
    #[error("the PIM refused a fresh access token (401)")]
    Unauthorized,
}

/// One Akeneo connection: its PIM URL, its [`Transport`] and its [`TokenProvider`],
/// shared through [`shared`] by every client built for it in the process.
pub struct Connection {
    base: Url,
    transport: Arc<Transport>,
    tokens: TokenProvider,
}

impl Connection {
    /// The PIM's URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The connection's access tokens.
    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// The transport every call of the connection goes through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends the request `build` makes with a valid token; after a 401, once
    /// more with a new token.
    pub async fn call(
        &self,
        build: impl Fn(&AccessToken) -> Request,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let token = self.tokens.access_token(deadline).await?;
        let answer = self.transport.send(&build(&token), deadline).await?;
        if answer.status != http::StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        tracing::debug!("Akeneo answered 401; asking for a new token");
        self.tokens.reject(&token).await;
        let token = self.tokens.access_token(deadline).await?;
        let answer = self.transport.send(&build(&token), deadline).await?;
        if answer.status == http::StatusCode::UNAUTHORIZED {
            return Err(CallError::Unauthorized);
        }
        Ok(answer)
    }
}

/// The connections alive in this process, by PIM, client id, username and a
/// digest of the secrets (so new credentials make a new connection).
static CONNECTIONS: LazyLock<Mutex<HashMap<String, Weak<Connection>>>> = LazyLock::new(Default::default);

fn key(base: &Url, credentials: &Credentials) -> String {
    let secrets = format!("{}\n{}", credentials.client_secret, credentials.password);
    let digest = ring::digest::digest(&ring::digest::SHA256, secrets.as_bytes());
    format!(
        "{base}\n{}\n{}\n{}",
        credentials.client_id,
        credentials.username,
        hex::encode(digest)
    )
}

/// This process's connection to `base` with `credentials`: the live one if
/// any (its settings stay those it was built with), else a new one.
pub fn shared(
    base: &Url,
    credentials: &Credentials,
    settings: ConnectionSettings,
) -> Result<Arc<Connection>, BuildError> {
    let key = key(base, credentials);
    let mut connections = CONNECTIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    connections.retain(|_, connection| connection.strong_count() > 0);
    if let Some(connection) = connections.get(&key).and_then(Weak::upgrade) {
        let transport = connection.transport();
        if transport.limit() != settings.max_concurrent_calls || transport.policy() != settings.retry {
            tracing::warn!(
                limit = transport.limit(),
                "a client asked for other settings than the connection already in use; \
                 it shares the existing one"
            );
        }
        return Ok(connection);
    }
    let transport = Arc::new(Transport::new(settings.max_concurrent_calls, settings.retry)?);
    let connection = Arc::new(Connection {
        base: base.clone(),
        tokens: TokenProvider::new(Arc::clone(&transport), base, credentials),
        transport,
    });
    connections.insert(key, Arc::downgrade(&connection));
    Ok(connection)
}
