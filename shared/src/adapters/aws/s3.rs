//! S3 behind the payload store port: large events' message bodies, put by the
//! receiver into its bucket, read and deleted by the processor wherever their
//! pointer says.

use std::time::Duration;

use aws_config::SdkConfig;
pub use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures::future::BoxFuture;

use crate::core::message::PayloadLocation;
use crate::ports::payload_store::{PayloadStore, PayloadStoreError};

/// How long init may spend opening the first connection before giving up on it.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(3);

/// Error codes that mean the object is not there and will not come back.
const GONE: [&str; 3] = ["NoSuchKey", "NoSuchBucket", "NotFound"];
/// Error codes that mean the request itself is wrong.
const MALFORMED: [&str; 4] = [
    "InvalidBucketName",
    "KeyTooLongError",
    "InvalidArgument",
    "InvalidRequest",
];

/// S3 behind the [`PayloadStore`] port.
#[derive(Debug, Clone)]
pub struct S3PayloadStore {
    client: Client,
    bucket: String,
}

impl S3PayloadStore {
    /// Puts into `bucket`; reads and deletes wherever a pointer says (the
    /// role's permissions decide what it may reach). A custom endpoint
    /// (`AWS_ENDPOINT_URL`, e.g. a local S3 API) gets path-style addressing,
    /// which local APIs need; AWS itself gets virtual-hosted-style.
    pub fn new(sdk_config: &SdkConfig, bucket: impl Into<String>) -> S3PayloadStore {
        let config = aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(sdk_config.endpoint_url().is_some())
            .build();
        S3PayloadStore {
            client: Client::from_conf(config),
            bucket: bucket.into(),
        }
    }

    /// Around a client configured elsewhere.
    pub fn from_client(client: Client, bucket: impl Into<String>) -> S3PayloadStore {
        S3PayloadStore {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket it puts into.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The S3 client it calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens and pools the connection to S3 during init, so the first large
    /// event does not pay for the TLS handshake inside Akeneo's deadline. The
    /// HeadObject is refused (the receiver may only put), and that answer is
    /// all we want. Failures here are only logged.
    pub async fn warm_up(&self) {
        let call = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key("connection-warm-up")
            .send();
        match tokio::time::timeout(WARM_UP_TIMEOUT, call).await {
            Ok(_) => tracing::debug!("payload store connection warmed up"),
            Err(_) => tracing::warn!("payload store did not answer the warm-up call in time"),
        }
    }

    async fn put_object(&self, key: &str, body: Bytes) -> Result<PayloadLocation, PayloadStoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| store_error(error, None))?;
        Ok(PayloadLocation {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
        })
    }

    async fn get_object(&self, location: &PayloadLocation) -> Result<Bytes, PayloadStoreError> {
        let output = self
            .client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
            .map_err(|error| store_error(error, Some(location)))?;
        let body = output
            .body
            .collect()
            .await
            .map_err(|error| PayloadStoreError::Unavailable {
                detail: format!("reading {location} failed: {error}"),
            })?;
        Ok(body.into_bytes())
    }

    async fn delete_object(&self, location: &PayloadLocation) -> Result<(), PayloadStoreError> {
        let deleted = self
            .client
            .delete_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await;
        match deleted.map_err(|error| store_error(error, Some(location))) {
            Ok(_) | Err(PayloadStoreError::NotFound(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// Sorts an SDK error into gone, malformed, or worth trying again; the detail
/// (with its causes) is for logs only.
fn store_error<E>(error: SdkError<E>, location: Option<&PayloadLocation>) -> PayloadStoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let code = error
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    let detail = DisplayErrorContext(&error).to_string();
    match (location, &error) {
        (Some(location), _) if GONE.contains(&code) => PayloadStoreError::NotFound(location.clone()),
        (_, SdkError::ConstructionFailure(_)) => PayloadStoreError::Invalid { detail },
        _ if MALFORMED.contains(&code) => PayloadStoreError::Invalid { detail },
        _ => PayloadStoreError::Unavailable { detail },
    }
}

impl PayloadStore for S3PayloadStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<PayloadLocation, PayloadStoreError>> {
        Box::pin(self.put_object(key, body))
    }

    fn get<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<Bytes, PayloadStoreError>> {
        Box::pin(self.get_object(location))
    }

    fn delete<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<(), PayloadStoreError>> {
        Box::pin(self.delete_object(location))
    }
}
