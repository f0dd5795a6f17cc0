//! A test app around the receiver: its real Function URL handling on an SQS
//! queue of its own in moto, so a test reads as one request and what landed.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::Message;
use aws_types::origin::Origin;
use serde_json::Value;
use shared::adapters::aws::SdkConfig;
use shared::adapters::aws::sqs::SqsQueue;
use shared::core::message::KeyPrefix;
use shared::core::receiver::{LargeEvents, Receiver, RouteSecrets, SecretStore};
use shared::core::signature::Secrets;
use shared::edges::lambda::function_url::{FunctionUrlEvent, LambdaRequest, respond};
use shared::ports::payload_store::PayloadStore;
use shared::ports::queue::QueueSender;

use super::akeneo::{Headers, event_platform_headers, events_api_headers};
use super::{function_url, moto};

pub const EA_SECRET: &str = "events-api-test-secret-0123456789abcdefghijklmnop";
pub const EP_PRIMARY: &str = "averysecretprimarysecret";
pub const EP_SECONDARY: &str = "anothersecondarysecret16";

/// The fixed secrets of both routes the test apps use.
pub fn secrets() -> SecretStore {
    SecretStore::fixed(RouteSecrets {
        events_api: Secrets::new([EA_SECRET]),
        event_platform: Secrets::new([EP_PRIMARY, EP_SECONDARY]),
        ..RouteSecrets::default()
    })
}

/// What the receiver answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

pub struct ReceiverApp<Q: QueueSender = SqsQueue> {
    pub receiver: Receiver<Q>,
    pub sqs: Client,
    pub queue_url: String,
}

impl ReceiverApp<SqsQueue> {
    /// A receiver on a new moto queue, its sender the deployed one.
    pub async fn start(name: &str) -> ReceiverApp<SqsQueue> {
        let sdk = moto::sdk().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = moto::create_queue(&sqs, name).await;
        let receiver = Receiver::new(sender(&sdk, &queue_url), secrets(), 300);
        ReceiverApp {
            receiver,
            sqs,
            queue_url,
        }
    }

    /// A receiver whose SQS endpoint is `endpoint` (refusing or hanging).
    pub async fn on_endpoint(endpoint: &str) -> ReceiverApp<SqsQueue> {
        let mut sdk = moto::sdk().await.into_builder().endpoint_url(endpoint);
        // Set in code, as a caller would: it then wins over AWS_ENDPOINT_URL
        // (moto's), for the SDK's clients and the receiver's sender alike.
        sdk.insert_origin("endpoint_url", Origin::shared_config());
        let sdk: SdkConfig = sdk.build();
        let queue_url = format!("{endpoint}/000000000000/nowhere");
        let receiver = Receiver::new(sender(&sdk, &queue_url), secrets(), 300);
        ReceiverApp {
            receiver,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url,
        }
    }
}

/// The receiver's SQS sender, as the deployed receiver builds it.
pub fn sender(sdk: &SdkConfig, queue_url: &str) -> SqsQueue {
    SqsQueue::new(sdk, queue_url)
}

impl<Q: QueueSender> ReceiverApp<Q> {
    /// The same receiver, storing events too large for the queue in `store`
    /// under the key prefix `relay/`.
    pub fn storing_large_events_in(self, store: impl PayloadStore) -> ReceiverApp<Q> {
        let large_events = LargeEvents {
            store: std::sync::Arc::new(store),
            key_prefix: KeyPrefix::parse("relay/").expect("valid prefix"),
        };
        ReceiverApp {
            receiver: self.receiver.with_large_events(large_events),
            ..self
        }
    }

    /// A receiver on `queue`, whose messages land on `queue_url` in moto.
    pub async fn with_queue(queue: Q, queue_url: String) -> ReceiverApp<Q> {
        ReceiverApp {
            receiver: Receiver::new(queue, secrets(), 300),
            sqs: moto::sqs().await,
            queue_url,
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &Headers,
        body: &[u8],
        base64: bool,
    ) -> Answer {
        self.send(&function_url::request(method, path, headers, body, base64))
            .await
    }

    /// Hands a Function URL request to the receiver, for tests that build it
    /// first (building a multi-MB request is slow in a debug build, and is not
    /// the receiver's time).
    pub async fn send(&self, request: &FunctionUrlEvent) -> Answer {
        let response = respond(&self.receiver, LambdaRequest::ApiGatewayV2(request.clone())).await;
        let status = response.status().as_u16();
        let body = match response.body().as_ref() {
            [] => Value::Null,
            text => serde_json::from_slice(text).expect("JSON response"),
        };
        Answer { status, body }
    }

    /// POSTs `body` signed as the PIM signs it, now.
    pub async fn post_events_api(&self, body: &[u8]) -> Answer {
        self.request(
            "POST",
            "/events-api",
            &events_api_headers(EA_SECRET, body),
            body,
            false,
        )
        .await
    }

    /// POSTs `body` base64-encoded, as a Function URL passes binary bodies.
    pub async fn post_events_api_base64(&self, body: &[u8]) -> Answer {
        self.request(
            "POST",
            "/events-api",
            &events_api_headers(EA_SECRET, body),
            body,
            true,
        )
        .await
    }

    /// POSTs `body` signed as the Event Platform signs it with `secrets`.
    pub async fn post_event_platform_signed(&self, secrets: &[&str], body: &[u8]) -> Answer {
        let headers = event_platform_headers(secrets, body);
        self.request("POST", "/event-platform", &headers, body, false)
            .await
    }

    pub async fn post_event_platform(&self, body: &[u8]) -> Answer {
        self.post_event_platform_signed(&[EP_PRIMARY], body).await
    }

    /// Every message that landed on the queue (received once each).
    pub async fn queued(&self) -> Vec<Message> {
        moto::drain(&self.sqs, &self.queue_url).await
    }
}
