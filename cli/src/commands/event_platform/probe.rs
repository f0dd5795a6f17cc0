//! Whether the receiver accepts a secret: it is sent an Event Platform
//! request with no events (`[]`), signed with that secret alone. The receiver
//! answers 200 and queues nothing; 401 means it does not hold the secret
//! (yet), 404 `route_not_configured` that it holds none for the route (yet).

use std::time::Duration;

use shared::core::signature::event_platform;
use tokio::time::Instant;

use crate::error::CliError;

/// The receiver's answer to a request signed with `secret` alone.
pub async fn status(http: &reqwest::Client, request_url: &str, secret: &str) -> Result<u16, CliError> {
    Ok(signed_post(http, request_url, secret, b"[]").await?.status)
}

/// A receiver's answer: its status and, for a refusal, its error code.
struct Answer {
    status: u16,
    code: Option<String>,
}

impl Answer {
    /// The route exists and will take a secret: it has none yet (the secret
    /// stored in the stack's secret is not loaded yet), or not this one.
    fn not_yet(&self) -> bool {
        self.status == 401 || (self.status == 404 && self.code.as_deref() == Some(ROUTE_NOT_CONFIGURED))
    }

    fn describe(&self) -> String {
        match &self.code {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// The receiver's code for a route whose secret it does not hold yet, as
/// opposed to `not_found`, a path that is no route at all.
const ROUTE_NOT_CONFIGURED: &str = "route_not_configured";

/// POSTs `body` signed as the Event Platform signs it, with `secret` alone.
async fn signed_post(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &'static [u8],
) -> Result<Answer, CliError> {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in event_platform::headers(secret, None, body) {
        request = request.header(name, value);
    }
    let unreachable = |source| CliError::Unreachable {
        url: url.to_owned(),
        source,
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    if status == 200 {
        return Ok(Answer { status, code: None });
    }
    // Not JSON (a proxy's page, say): no code, so never "not yet" on a 404.
    let code = response
        .bytes()
        .await
        .ok()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .and_then(|body| body.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    Ok(Answer { status, code })
}

/// Asks until the receiver accepts `secret`, for at most `within`. A 401, or
/// a 404 `route_not_configured`, is asked again: each makes the receiver
/// reload its secrets soon (at most every 30 s), and a Lambda has several
/// instances. Any other 404 fails at once: the URL is no route.
pub async fn until_accepted(
    http: &reqwest::Client,
    request_url: &str,
    secret: &str,
    within: Duration,
) -> Result<(), CliError> {
    until_ok(http, request_url, secret, b"[]", within).await
}

/// Asks until the receiver's notification route accepts a notification
/// signed with `secret` (of a type the relay does not know: it is logged and
/// accepted), for at most `within`, as [`until_accepted`] does.
pub async fn until_notification_accepted(
    http: &reqwest::Client,
    notification_url: &str,
    secret: &str,
    within: Duration,
) -> Result<(), CliError> {
    let body = br#"{"notification_type":"akeneo-relay.probe"}"#;
    until_ok(http, notification_url, secret, body, within).await
}

/// POSTs `body` signed with `secret` once a second until a 200, while the
/// answer means "not yet" and `within` has not passed.
async fn until_ok(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &'static [u8],
    within: Duration,
) -> Result<(), CliError> {
    let deadline = Instant::now() + within;
    loop {
        let answer = signed_post(http, url, secret, body).await?;
        if answer.status == 200 {
            return Ok(());
        }
        if answer.status == 404 && !answer.not_yet() {
            return Err(CliError::NoSuchRoute {
                url: url.to_owned(),
                answer: answer.describe(),
            });
        }
        if !answer.not_yet() || Instant::now() >= deadline {
            return Err(CliError::ReceiverRefusedSecret {
                url: url.to_owned(),
                answer: answer.describe(),
                waited: within,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub fn http_client() -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(CliError::HttpClient)
}
