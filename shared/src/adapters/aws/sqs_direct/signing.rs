//! SigV4 for one SQS JSON call: the headers SQS needs, signed with the
//! execution role's credentials.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::wire;
use crate::ports::queue::QueueError;

/// A POST of `body` to `endpoint` (SQS's service URL, path included), with
/// `Authorization`, `X-Amz-Date` and (for session credentials)
/// `X-Amz-Security-Token` added. `Host` is signed from the URL, as hyper will
/// send it.
pub fn signed_request(
    endpoint: &str,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    at: SystemTime,
) -> Result<http::Request<()>, QueueError> {
    let mut request = http::Request::post(endpoint)
        .header(http::header::CONTENT_TYPE, wire::CONTENT_TYPE)
        .header("x-amz-target", wire::TARGET)
        .body(())
        .map_err(invalid)?;
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sqs")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(invalid)?
        .into();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let signable =
        SignableRequest::new("POST", endpoint, headers, SignableBody::Bytes(body)).map_err(invalid)?;
    let (instructions, _signature) = sign(signable, &params).map_err(invalid)?.into_parts();
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

fn invalid(error: impl std::fmt::Display) -> QueueError {
    QueueError::Invalid {
        detail: format!("could not sign the SQS request: {error}"),
    }
}
