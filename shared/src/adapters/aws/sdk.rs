//! The SDK configuration every AWS adapter shares.

use std::time::Duration;

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Connecting to SQS takes a few milliseconds in-region; a slower connect is a
/// network problem that the caller's deadline should see quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);

/// SDK configuration from the usual AWS environment (region, credentials,
/// `AWS_ENDPOINT_URL` for local SQS). The SDK's own retries are off: callers
/// retry inside their protocol's deadline, which a generic retry policy with
/// multi-second backoff would overrun.
pub async fn sdk_config() -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build())
        .load()
        .await
}
