//! The receiver's one hot call, `SendMessageBatch`, sent without the SDK's
//! orchestrator: the JSON body (serde_json), one SigV4 signature (`aws-sigv4`,
//! the SDK's own signer), one pooled HTTPS connection (hyper + rustls).
//!
//! Why: on a warm 128 MB receiver the SDK's per-call machinery (runtime
//! plugins, config layers, interceptors, endpoint rules, byte-at-a-time JSON
//! escaping) cost more CPU than the rest of the request together
//! (BENCHMARKS.md, issue 13). Everything else in the relay, the processor's
//! queue calls included, stays on `aws-sdk-sqs` ([`super::sqs::SqsQueue`]).
//! What the SDK gave this call is kept: its credential provider and endpoint
//! resolution (read once at init), its signer, a connect timeout, the
//! connection opened during init.

mod credentials;
#[cfg(test)]
mod endpoint_tests;
mod signing;
#[cfg(test)]
mod signing_tests;
mod wire;
#[cfg(test)]
mod wire_tests;

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sqs::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_types::service_config::ServiceConfigKey;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use self::credentials::CredentialCache;
use crate::adapters::error_chain;
use crate::ports::queue::{BatchEntry, BatchReport, QueueError, QueueSender};

/// As for the SDK clients ([`super::sdk`]): a connect slower than this is a
/// network problem the receiver's deadline should see quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);
/// How long init may spend opening the first connection before giving up on it.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(3);
/// A connection idle this long is closed rather than reused: AWS SDKs keep
/// an idle connection at most 60 s (the Java SDK's default), and a request
/// on one the far end has already closed fails and must try again.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// SQS's answer to the warm-up's empty batch: it was read, signed and
/// authorised, and refused only for being empty.
const EMPTY_BATCH: &str = "EmptyBatchRequest";

/// Why the sender could not be built at init.
#[derive(Debug, thiserror::Error)]
pub enum DirectSqsError {
    #[error("no AWS region is configured (AWS_REGION)")]
    NoRegion,
    #[error("the SQS endpoint for region {region} could not be resolved: {detail}")]
    Endpoint { region: String, detail: String },
    #[error("the system's trusted certificates could not be read: {0}")]
    Certificates(std::io::Error),
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

#[derive(Debug)]
pub struct DirectSqsSender {
    client: HttpsClient,
    endpoint: String,
    region: String,
    queue_url: String,
    credentials: CredentialCache,
}

impl DirectSqsSender {
    /// Region, endpoint (`AWS_ENDPOINT_URL`, FIPS and dual-stack settings
    /// included) and credentials as the SDK configuration has them.
    pub async fn new(
        sdk: &SdkConfig,
        queue_url: impl Into<String>,
    ) -> Result<DirectSqsSender, DirectSqsError> {
        let region = sdk.region().ok_or(DirectSqsError::NoRegion)?.to_string();
        let endpoint = resolve_endpoint(sdk, &region).await?;
        Ok(DirectSqsSender {
            client: https_client()?,
            endpoint,
            region,
            queue_url: queue_url.into(),
            credentials: CredentialCache::new(sdk.credentials_provider()),
        })
    }

    /// Loads the credentials and opens the connection during init, which runs
    /// with a full CPU; a TLS handshake on the first request at 128 MB has been
    /// measured at ~750 ms. An empty batch needs only the `sqs:SendMessage`
    /// permission the receiver already has; SQS refuses it as empty, and that
    /// answer is all we want. Failures are only logged: the first request will
    /// try again.
    pub async fn warm_up(&self) {
        match tokio::time::timeout(WARM_UP_TIMEOUT, self.send_batch(&[])).await {
            Ok(Err(QueueError::Invalid { detail })) if detail.contains(EMPTY_BATCH) => {
                tracing::debug!("queue connection warmed up");
            }
            // Anything else (a refused signature, a missing permission or
            // queue) will fail every request: say so at init.
            Ok(Err(error)) => tracing::warn!(%error, "queue warm-up call failed"),
            Ok(Ok(_)) => tracing::warn!("queue accepted an empty batch"),
            Err(_) => tracing::warn!("queue did not answer the warm-up call in time"),
        }
    }
}

impl QueueSender for DirectSqsSender {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let body = wire::request_body(&self.queue_url, entries)?;
        let now = SystemTime::now();
        let credentials = self.credentials.get(now).await?;
        let request = signing::signed_request(&self.endpoint, &body, &credentials, &self.region, now)?;
        let response = self
            .client
            .request(request.map(|()| Full::new(Bytes::from(body))))
            .await
            .map_err(|error| unavailable("SQS could not be reached", &error))?;
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .map_err(|error| unavailable("SQS's answer was cut off", &error))?
            .to_bytes();
        wire::read_answer(status, &answer)
    }
}

fn unavailable(what: &str, error: &(dyn std::error::Error + 'static)) -> QueueError {
    QueueError::Unavailable {
        detail: format!("{what}: {}", error_chain::describe(error)),
    }
}

/// The SDK's own endpoint rules, evaluated once: the URL every call posts to.
async fn resolve_endpoint(sdk: &SdkConfig, region: &str) -> Result<String, DirectSqsError> {
    let params = Params::builder()
        .region(region)
        .use_fips(sdk.use_fips().unwrap_or(false))
        .use_dual_stack(sdk.use_dual_stack().unwrap_or(false))
        .set_endpoint(endpoint_override(sdk))
        .build()
        .map_err(|error| endpoint_error(region, error))?;
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map_err(|error| endpoint_error(region, error))?;
    let url = endpoint.url();
    // The JSON protocol posts to the service root.
    Ok(if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    })
}

/// The endpoint URL the SDK's SQS client would use instead of its rules, in
/// its order: one set in code, else SQS's own (`AWS_ENDPOINT_URL_SQS`, a
/// profile's `services` section), else the global `AWS_ENDPOINT_URL`.
fn endpoint_override(sdk: &SdkConfig) -> Option<String> {
    if sdk.get_origin("endpoint_url").is_client_config() {
        return sdk.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id("SQS")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build();
    key.ok()
        .and_then(|key| sdk.service_config()?.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_owned))
}

fn endpoint_error(region: &str, error: impl std::fmt::Display) -> DirectSqsError {
    DirectSqsError::Endpoint {
        region: region.to_owned(),
        detail: error.to_string(),
    }
}

/// HTTP/1.1 over rustls (ring) with the system's trusted roots
/// (`SSL_CERT_FILE` honoured), plain HTTP allowed for a local endpoint.
fn https_client() -> Result<HttpsClient, DirectSqsError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(DirectSqsError::Certificates)?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .build(connector))
}
