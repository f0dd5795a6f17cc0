//! The HTTP plumbing every Akeneo API call goes through: a limit on the calls
//! in flight (shared by everything that uses one connection in the process),
//! `429 Retry-After` honoured, and 408, 5xx, network errors and timeouts
//! retried with exponential backoff and jitter, always within the caller's
//! deadline: a wait that would end after it is not started.
//!
//! What the server answers is not trusted: a redirect is followed only within
//! the origin the request was for (so a token, a password or an `X-PIM-TOKEN`
//! never reaches another host), every answer is read up to its request's
//! limit and no further, and a `Retry-After` is bounded before it is added to
//! a clock.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use reqwest::Url;
use reqwest::redirect;
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep, timeout_at};

use crate::adapters::error_chain;
use crate::core::answers::{AnswerBuffer, AnswerTooLarge, read_retry_after};

/// Redirects followed at most in one attempt, all within the origin.
const MAX_REDIRECTS: usize = 5;

/// How a call is retried. Akeneo advises 5 to 8 attempts with exponential
/// backoff and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts at most, the first included.
    pub max_attempts: u32,
    /// The wait after the first failure; each further one doubles it.
    pub first_backoff: Duration,
    /// The longest wait between two attempts (before jitter).
    pub max_backoff: Duration,
    /// The longest one attempt may take (connect, headers and body), within
    /// the caller's deadline.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// A call gave up. Carries neither a token nor a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// 429 with a `Retry-After` that ends past the deadline (or attempts spent).
    #[error("rate-limited (429){}, past the deadline", retry_after_text(.retry_after))]
    RateLimited {
        /// The wait Akeneo asked for, if it gave one.
        retry_after: Option<Duration>,
    },
    /// 408, 5xx, a network error or a timeout, still so when attempts or time ran out.
    #[error("unavailable: {detail}")]
    Unavailable {
        /// The last failure: a status, a network error, a timeout.
        detail: String,
    },
    /// No call slot came free, or no answer came, before the deadline.
    #[error("no answer before the deadline{}", last_text(.last))]
    DeadlineExceeded {
        /// The last failure before the deadline, if any.
        last: Option<String>,
    },
    /// A redirect away from the request's origin (or one too many), not
    /// followed: nothing was sent there.
    #[error("answered {status}, a redirect to {to} that is not followed (it leaves {from})")]
    Redirected {
        /// The redirect's HTTP status.
        status: u16,
        /// The request's origin.
        from: String,
        /// The redirect's origin (only the origin: the location's path could
        /// carry anything).
        to: String,
    },
    /// The answer was longer than the request allows; the rest was not read.
    #[error("{0}")]
    TooLarge(#[from] AnswerTooLarge),
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(" asking to wait {} s", d.as_secs()))
}

fn last_text(last: &Option<String>) -> String {
    last.as_ref()
        .map_or_else(String::new, |l| format!(" (last: {l})"))
}

impl TransportError {
    /// The deadline, not the PIM's answer, ended the call.
    pub fn is_deadline(&self) -> bool {
        matches!(self, TransportError::DeadlineExceeded { .. })
    }
}

/// One request, rebuilt for every attempt.
#[derive(Debug, Clone)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The full URL, query included.
    pub url: Url,
    /// Marked sensitive: never printed by `Debug`.
    pub authorization: Option<HeaderValue>,
    /// Content type and body.
    pub body: Option<(&'static str, Bytes)>,
    /// Further headers (the Event Platform's `X-PIM-*`); a sensitive value is
    /// marked so and never printed by `Debug`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The longest answer body read (see [`crate::core::answers`]).
    pub answer_limit: usize,
}

impl Request {
    /// A GET of `url` whose answer may hold `answer_limit` bytes.
    pub fn get(url: Url, answer_limit: usize) -> Request {
        Request::new(Method::GET, url, answer_limit)
    }

    /// A `method` request of `url` with no header or body, whose answer may hold
    /// `answer_limit` bytes.
    pub fn new(method: Method, url: Url, answer_limit: usize) -> Request {
        Request {
            method,
            url,
            authorization: None,
            body: None,
            headers: Vec::new(),
            answer_limit,
        }
    }
}

/// What the API answered (anything but 408, 429 and 5xx, which are retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, at most the request's `answer_limit` bytes.
    pub body: Bytes,
}

/// One HTTP client, one limit on calls in flight, one retry policy.
pub struct Transport {
    http: reqwest::Client,
    permits: Semaphore,
    limit: usize,
    policy: RetryPolicy,
}

/// The HTTP client could not be built (the TLS setup failed).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct BuildError(#[from] reqwest::Error);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Transport {
    /// `limit` calls in flight at most (at least 1).
    pub fn new(limit: usize, policy: RetryPolicy) -> Result<Transport, BuildError> {
        // reqwest is built without a crypto provider: ring, as everywhere in
        // this workspace (an error only means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(within_origin())
            .user_agent(concat!("akeneo-event-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let limit = limit.max(1);
        Ok(Transport {
            http,
            permits: Semaphore::new(limit),
            limit,
            policy,
        })
    }

    /// Calls in flight at most.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How calls are retried.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Sends `request` until it gets an answer worth returning, or gives up:
    /// after the policy's attempts, or as soon as the next attempt could not
    /// end before `deadline`.
    pub async fn send(&self, request: &Request, deadline: Instant) -> Result<Answer, TransportError> {
        let mut last: Option<Failure> = None;
        for attempt in 1..=self.policy.max_attempts.max(1) {
            let failure = match self.attempt(request, deadline, last.as_ref()).await? {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            // Bounded when read (MAX_RETRY_AFTER), so neither sum can overflow;
            // checked all the same, as a wait past any clock is past the deadline.
            let wait = match failure {
                Failure::RateLimited(Some(after)) => after.saturating_add(jitter(Duration::from_millis(100))),
                _ => self.backoff(attempt),
            };
            let past_deadline = Instant::now().checked_add(wait).is_none_or(|end| end >= deadline);
            if attempt == self.policy.max_attempts || past_deadline {
                return Err(failure.into_error());
            }
            tracing::debug!(
                attempt,
                reason = %failure.describe(),
                wait_ms = wait.as_millis() as u64,
                "Akeneo API call retried"
            );
            last = Some(failure);
            sleep(wait).await;
        }
        Err(last.map_or(
            TransportError::DeadlineExceeded { last: None },
            Failure::into_error,
        ))
    }

    /// One attempt: a call slot, then the exchange, within the attempt's
    /// timeout. `Err` when the deadline passed before a slot came free.
    async fn attempt(
        &self,
        request: &Request,
        deadline: Instant,
        last: Option<&Failure>,
    ) -> Result<Result<Answer, Failure>, TransportError> {
        let deadline_error = || TransportError::DeadlineExceeded {
            last: last.map(Failure::describe),
        };
        let Ok(Ok(permit)) = timeout_at(deadline, self.permits.acquire()).await else {
            return Err(deadline_error());
        };
        let attempt_deadline = Instant::now()
            .checked_add(self.policy.attempt_timeout)
            .map_or(deadline, |end| end.min(deadline));
        let result = timeout_at(attempt_deadline, self.exchange(request)).await;
        drop(permit);
        Ok(match result {
            Err(_) if attempt_deadline == deadline => return Err(deadline_error()),
            Err(_) => Err(Failure::TimedOut(self.policy.attempt_timeout)),
            Ok(Err(Exchange::TooLarge(error))) => return Err(error.into()),
            Ok(Err(Exchange::Http(error))) => Err(Failure::Network(error_chain::describe(&error))),
            Ok(Ok((status, answer))) if status.is_redirection() => {
                return Err(redirected(status, &request.url, answer.location.as_deref()));
            }
            Ok(Ok((status, _))) if status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() => {
                Err(Failure::Status(status))
            }
            Ok(Ok((status, answer))) if status == StatusCode::TOO_MANY_REQUESTS => {
                Err(Failure::RateLimited(answer.retry_after))
            }
            Ok(Ok((status, answer))) => Ok(Answer {
                status,
                body: answer.body,
            }),
        })
    }

    async fn exchange(&self, request: &Request) -> Result<(StatusCode, Exchanged), Exchange> {
        let mut builder = self.http.request(request.method.clone(), request.url.clone());
        if let Some(authorization) = &request.authorization {
            builder = builder.header(AUTHORIZATION, authorization.clone());
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| read_retry_after(value.as_bytes(), std::time::SystemTime::now()));
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // The body is read while the call slot is held (the call is in flight
        // until it is), a chunk at a time, never past the request's limit.
        let mut body = AnswerBuffer::new(request.answer_limit, response.content_length())?;
        while let Some(chunk) = response.chunk().await? {
            body.push(&chunk)?;
        }
        Ok((
            status,
            Exchanged {
                retry_after,
                location,
                body: body.finish(),
            },
        ))
    }

    /// `first * 2^(attempt-1)`, capped, then between half and all of it.
    fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .policy
            .first_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.policy.max_backoff);
        full / 2 + jitter(full / 2)
    }
}

struct Exchanged {
    retry_after: Option<Duration>,
    location: Option<String>,
    body: Bytes,
}

/// Why one exchange produced no answer.
enum Exchange {
    Http(reqwest::Error),
    TooLarge(AnswerTooLarge),
}

impl From<reqwest::Error> for Exchange {
    fn from(error: reqwest::Error) -> Exchange {
        Exchange::Http(error)
    }
}

impl From<AnswerTooLarge> for Exchange {
    fn from(error: AnswerTooLarge) -> Exchange {
        Exchange::TooLarge(error)
    }
}

/// Follows a redirect only to the origin of the request's URL, and at most
/// [`MAX_REDIRECTS`] times; any other is given back as the 3xx it is. The
/// client's own policy would follow it anywhere with the method's body (a
/// 307 re-posts the password grant) and every header but `Authorization`.
fn within_origin() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(Url::origin);
        if attempt.previous().len() > MAX_REDIRECTS || first != Some(attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The error for a redirect that was not followed, naming origins only (a
/// location's path or query could carry anything).
fn redirected(status: StatusCode, from: &Url, location: Option<&str>) -> TransportError {
    let to = location
        .and_then(|location| from.join(location).ok())
        .map_or_else(
            || "(no location)".to_owned(),
            |to| to.origin().ascii_serialization(),
        );
    TransportError::Redirected {
        status: status.as_u16(),
        from: from.origin().ascii_serialization(),
        to,
    }
}

/// Why one attempt failed in a way worth retrying.
enum Failure {
    Status(StatusCode),
    RateLimited(Option<Duration>),
    Network(String),
    TimedOut(Duration),
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::Status(status) => status.to_string(),
            Failure::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS.to_string(),
            Failure::Network(detail) => detail.clone(),
            Failure::TimedOut(after) => format!("no answer within {after:?}"),
        }
    }

    fn into_error(self) -> TransportError {
        match self {
            Failure::RateLimited(retry_after) => TransportError::RateLimited { retry_after },
            other => TransportError::Unavailable {
                detail: other.describe(),
            },
        }
    }
}

/// A random duration in `[0, max]`, so callers that failed together do not
/// come back together.
fn jitter(max: Duration) -> Duration {
    let nanos = max.as_nanos().min(u64::MAX as u128) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(RandomState::new().hash_one(Instant::now()) % (nanos + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_stays_under_the_cap_and_spreads() {
        // GIVEN the default policy
        let transport = Transport::new(1, RetryPolicy::default()).expect("client");
        // WHEN backoffs are computed for the first attempts
        // THEN each lies between half and all of 200 ms x 2^(n-1), capped at 5 s
        for attempt in 1..=8u32 {
            let full = (Duration::from_millis(200) * 2u32.pow(attempt - 1)).min(Duration::from_secs(5));
            let wait = transport.backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| transport.backoff(4)).collect();
        assert!(spread.len() > 5, "{spread:?}");
    }

    #[test]
    fn a_request_never_prints_its_authorization() {
        // GIVEN a request with a sensitive bearer header
        let mut value = HeaderValue::from_static("Bearer the-token-value");
        value.set_sensitive(true);
        let mut request = Request::get(Url::parse("https://pim.example.com/").expect("url"), 1024);
        request.authorization = Some(value);
        // WHEN it is debug-printed
        // THEN the token is not there
        assert!(!format!("{request:?}").contains("the-token-value"));
    }
}
