//! A measurement reference for `scripts/bench-lambda --floors`, not a
//! production adapter: the deployed receiver with `SendMessageBatch` written
//! by hand (serde_json body, one SigV4 signature with `aws-sigv4`, hyper +
//! rustls) instead of through `aws-sdk-sqs`. It shows what replacing the SDK
//! on the hot path would save (BENCHMARKS.md, issue 13). Missing for
//! production: credential refresh, the connection warm-up at init, a connect
//! timeout, and the SDK's error classification beyond 4xx/other.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use shared::config::ReceiverConfig;
use shared::core::message::claim_check::attribute_data_type;
use shared::core::receiver::{Receiver, RouteSecrets, SecretStore};
use shared::observability::metrics::Metrics;
use shared::ports::queue::{BatchEntry, BatchReport, FailedEntry, QueueError, QueueSender, QueuedEntry};

struct HandWrittenSqs {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: String,
    queue_url: String,
    credentials: Credentials,
    region: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatch<'a> {
    queue_url: &'a str,
    entries: Vec<Entry<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Entry<'a> {
    id: &'a str,
    message_body: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<&'a str, Attribute<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute<'a> {
    data_type: &'a str,
    string_value: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    successful: Vec<Successful>,
    #[serde(default)]
    failed: Vec<Failed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Successful {
    id: String,
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Failed {
    id: String,
    code: String,
    #[serde(default)]
    sender_fault: bool,
}

fn unavailable(error: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable {
        detail: error.to_string(),
    }
}

fn invalid(error: impl std::fmt::Display) -> QueueError {
    QueueError::Invalid {
        detail: error.to_string(),
    }
}

impl HandWrittenSqs {
    fn body(&self, entries: &[BatchEntry<'_>]) -> Result<Vec<u8>, QueueError> {
        let entries = entries
            .iter()
            .map(|entry| Entry {
                id: entry.id,
                message_body: &entry.message.body,
                message_attributes: entry
                    .message
                    .attributes
                    .iter()
                    .map(|(name, value)| {
                        let attribute = Attribute {
                            data_type: attribute_data_type(name),
                            string_value: value,
                        };
                        (*name, attribute)
                    })
                    .collect(),
            })
            .collect();
        let batch = SendMessageBatch {
            queue_url: &self.queue_url,
            entries,
        };
        serde_json::to_vec(&batch).map_err(invalid)
    }

    fn signed(&self, body: Vec<u8>) -> Result<http::Request<Full<Bytes>>, QueueError> {
        let mut request = http::Request::post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "AmazonSQS.SendMessageBatch")
            .body(())
            .map_err(invalid)?;
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sqs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(invalid)?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new("POST", &self.endpoint, headers, SignableBody::Bytes(&body))
            .map_err(invalid)?;
        let (instructions, _) = sign(signable, &params).map_err(invalid)?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.map(|()| Full::new(Bytes::from(body))))
    }
}

impl QueueSender for HandWrittenSqs {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let request = self.signed(self.body(entries)?)?;
        let response = self.client.request(request).await.map_err(unavailable)?;
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .map_err(unavailable)?
            .to_bytes();
        if status.is_client_error() {
            return Err(invalid(status));
        }
        if !status.is_success() {
            return Err(unavailable(status));
        }
        let answer: Answer = serde_json::from_slice(&answer).map_err(unavailable)?;
        let queued = answer
            .successful
            .into_iter()
            .map(|ok| QueuedEntry {
                id: ok.id,
                message_id: ok.message_id,
            })
            .collect();
        let failed = answer
            .failed
            .into_iter()
            .map(|failed| FailedEntry {
                id: failed.id,
                code: failed.code,
                sender_fault: failed.sender_fault,
            })
            .collect();
        Ok(BatchReport { queued, failed })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::observability::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = ReceiverConfig::from_env()?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
    let queue = HandWrittenSqs {
        client: Client::builder(TokioExecutor::new()).build(connector),
        endpoint: format!("{}/", endpoint.trim_end_matches('/')),
        queue_url: config.queue_url.clone(),
        credentials: Credentials::from_keys(
            std::env::var("AWS_ACCESS_KEY_ID")?,
            std::env::var("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
        ),
        region: std::env::var("AWS_REGION")?,
    };
    let secrets = SecretStore::fixed(RouteSecrets {
        events_api: config.events_api_secrets,
        event_platform: config.event_platform_secrets,
        notifications: config.notification_secrets,
    });
    let receiver =
        Receiver::new(queue, secrets, config.events_api_tolerance_secs).with_metrics(Metrics::from_env());
    shared::edges::lambda::function_url::run(receiver).await
}
