//! The SDK configuration every AWS adapter shares.

use std::time::Duration;

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Connecting to SQS takes a few milliseconds in-region; a slower connect is a
/// network problem that the caller's deadline should see quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);

/// How long a pooled connection may sit idle before it is dropped.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// Lambda sets this in every function's environment, and nowhere else.
const LAMBDA_MARKER: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// SDK configuration from the usual AWS environment (region, credentials,
/// `AWS_ENDPOINT_URL` for local SQS). The SDK's own retries are off: callers
/// retry inside their protocol's deadline, which a generic retry policy with
/// multi-second backoff would overrun.
pub async fn sdk_config() -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        // SQS closes a connection idle for about a minute: one idle longer
        // than this is not reused, so no request is sent on a closed socket.
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build());
    let loader = if lambda_environment_has_all(|name| std::env::var_os(name).is_some()) {
        // Building the default chains first (an STS client for web identity,
        // profile files, IMDS) costs about a millisecond of CPU at init, over
        // ten milliseconds of cold start at 128 MB, to find the same values.
        loader
            .credentials_provider(EnvironmentVariableCredentialsProvider::new())
            .region(EnvironmentVariableRegionProvider::new())
    } else {
        loader
    };
    loader.load().await
}

/// Whether this is Lambda with the execution role's credentials and the
/// region in the environment, where Lambda always puts them. An emulator
/// (`cargo lambda watch`) may set the marker without them: then the default
/// chains still find a profile's credentials.
fn lambda_environment_has_all(is_set: impl Fn(&str) -> bool) -> bool {
    is_set(LAMBDA_MARKER)
        && is_set("AWS_ACCESS_KEY_ID")
        && is_set("AWS_SECRET_ACCESS_KEY")
        && (is_set("AWS_REGION") || is_set("AWS_DEFAULT_REGION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAMBDA: [&str; 4] = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ];

    #[test]
    fn lambda_reads_credentials_and_region_from_the_environment() {
        // GIVEN the environment Lambda gives a function
        // WHEN the SDK configuration decides where to look
        let direct = lambda_environment_has_all(|name| LAMBDA.contains(&name));
        // THEN it skips the default chains
        assert!(direct);
    }

    #[test]
    fn an_emulator_without_credentials_in_the_environment_keeps_the_default_chains() {
        // GIVEN a Lambda emulator that sets the marker and the region but no keys
        let set = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION"];
        // WHEN the SDK configuration decides where to look
        let direct = lambda_environment_has_all(|name| set.contains(&name));
        // THEN the default chains look further (a profile, SSO, ...)
        assert!(!direct);
    }

    #[test]
    fn outside_lambda_the_default_chains_are_kept() {
        // GIVEN keys and a region in the environment but no Lambda
        let set = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"];
        // WHEN the SDK configuration decides where to look
        let direct = lambda_environment_has_all(|name| set.contains(&name));
        // THEN the default chains are used, as for any AWS tool
        assert!(!direct);
    }
}
