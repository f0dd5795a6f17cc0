//! Whether the receiver accepts a secret: it is sent an Event Platform
//! request with no events (`[]`), signed with that secret alone. The receiver
//! answers 200 and queues nothing; 401 means it does not hold the secret (yet).

use std::time::Duration;

use shared::core::signature::event_platform;
use tokio::time::Instant;

use crate::error::CliError;

/// The receiver's answer to a request signed with `secret` alone.
pub async fn status(http: &reqwest::Client, request_url: &str, secret: &str) -> Result<u16, CliError> {
    signed_post(http, request_url, secret, b"[]").await
}

/// POSTs `body` signed as the Event Platform signs it, with `secret` alone;
/// answers the status code.
async fn signed_post(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &'static [u8],
) -> Result<u16, CliError> {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in event_platform::headers(secret, None, body) {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|source| CliError::Unreachable {
        url: url.to_owned(),
        source,
    })?;
    Ok(response.status().as_u16())
}

/// Asks until the receiver accepts `secret`, for at most `within`. A 401 is
/// asked again: every refused signature makes the receiver reload its
/// secrets soon (at most every 30 s), and a Lambda has several instances.
pub async fn until_accepted(
    http: &reqwest::Client,
    request_url: &str,
    secret: &str,
    within: Duration,
) -> Result<(), CliError> {
    until_ok(http, request_url, secret, b"[]", &[401], within).await
}

/// Asks until the receiver's notification route accepts a notification
/// signed with `secret` (of a type the relay does not know: it is logged and
/// accepted), for at most `within`. 404: the route has no secret yet.
pub async fn until_notification_accepted(
    http: &reqwest::Client,
    notification_url: &str,
    secret: &str,
    within: Duration,
) -> Result<(), CliError> {
    let body = br#"{"notification_type":"akeneo-relay.probe"}"#;
    until_ok(http, notification_url, secret, body, &[401, 404], within).await
}

/// POSTs `body` signed with `secret` once a second until a 200, while the
/// answer is one of `not_yet` and `within` has not passed.
async fn until_ok(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &'static [u8],
    not_yet: &[u16],
    within: Duration,
) -> Result<(), CliError> {
    let deadline = Instant::now() + within;
    loop {
        let status = signed_post(http, url, secret, body).await?;
        if status == 200 {
            return Ok(());
        }
        if !not_yet.contains(&status) || Instant::now() >= deadline {
            return Err(CliError::ReceiverRefusedSecret {
                url: url.to_owned(),
                status,
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
