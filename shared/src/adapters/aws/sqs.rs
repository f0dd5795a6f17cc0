//! SQS behind the queue ports: send, receive and delete, change visibility.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
pub use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
pub use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageAttributeValue,
    MessageSystemAttributeName, SendMessageBatchRequestEntry,
};

use crate::core::message::{ATTRIBUTE_TENANT, attribute_data_type};
use crate::ports::queue::{
    BatchEntry, BatchReport, FailedEntry, QueueError, QueueReceiver, QueueSender, QueuedEntry,
    ReceivedMessage, VisibilityChange, VisibilityChanger,
};

/// How long init may spend opening the first connection before giving up on it.
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(3);

/// SQS answers a send, delete or visibility change in milliseconds; one still
/// open after seconds has hung, and whoever waits on it (a batch, a poller, a
/// redrive, shutdown) needs it back. The receiver's own deadlines are shorter
/// still and cut its calls first.
const CALL_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A long poll holds its call open for up to its wait time: past that by this
/// margin, it has hung.
const POLL_MARGIN: Duration = Duration::from_secs(5);

/// An SQS client whose every call has an attempt and an operation timeout (the
/// shared SDK configuration has only a connect timeout).
pub fn client(sdk_config: &SdkConfig) -> Client {
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(CALL_ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build();
    Client::from_conf(
        aws_sdk_sqs::config::Builder::from(sdk_config)
            .timeout_config(timeouts)
            // The timeouts above cut a stalled call; the protection's
            // throughput monitor would only add work to every call.
            .stalled_stream_protection(aws_sdk_sqs::config::StalledStreamProtectionConfig::disabled())
            .build(),
    )
}

/// How long a poll that waits `wait` may take before it counts as stalled.
pub fn poll_timeout(wait: Duration) -> Duration {
    wait + POLL_MARGIN
}

/// One SQS queue behind the queue ports (send, receive, delete, change
/// visibility), every call with [`client`]'s timeouts.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    /// The queue at `queue_url`.
    pub fn new(sdk_config: &SdkConfig, queue_url: impl Into<String>) -> SqsQueue {
        SqsQueue {
            client: client(sdk_config),
            queue_url: queue_url.into(),
        }
    }

    /// The SQS client it calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Opens and pools the connection to SQS during init. A Lambda's init phase
    /// runs with a full CPU, while a TLS handshake on the first request at 128 MB
    /// has been measured at ~750 ms, over the Events API's whole budget. An empty
    /// batch needs only the `sqs:SendMessage` permission the receiver already has;
    /// SQS refuses it as empty, and that answer is all we want. Failures here are
    /// only logged: the first request will connect again.
    pub async fn warm_up(&self) {
        let call = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(Vec::new()))
            .send();
        match tokio::time::timeout(WARM_UP_TIMEOUT, call).await {
            Ok(Err(error))
                if !error
                    .as_service_error()
                    .is_some_and(|e| e.is_empty_batch_request()) =>
            {
                tracing::warn!(
                    error = %DisplayErrorContext(&error),
                    "queue warm-up call failed; the first request will connect again"
                );
            }
            Ok(_) => tracing::debug!("queue connection warmed up"),
            Err(_) => tracing::warn!("queue did not answer the warm-up call in time"),
        }
    }
}

impl QueueSender for SqsQueue {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let entries = entries.iter().map(to_sqs_entry).collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(BatchReport {
            queued: output
                .successful
                .into_iter()
                .map(|ok| QueuedEntry {
                    id: ok.id,
                    message_id: ok.message_id,
                })
                .collect(),
            failed: output
                .failed
                .into_iter()
                .map(|failed| FailedEntry {
                    id: failed.id,
                    code: failed.code,
                    sender_fault: failed.sender_fault,
                })
                .collect(),
        })
    }
}

fn to_sqs_entry(entry: &BatchEntry<'_>) -> Result<SendMessageBatchRequestEntry, QueueError> {
    // A tenant's events form one message group: on a standard queue SQS
    // then shares its throughput fairly between groups (fair queues), so
    // one tenant's backlog does not hold back the others'.
    let mut builder = SendMessageBatchRequestEntry::builder()
        .id(entry.id)
        .message_body(&entry.message.body)
        .set_message_group_id(entry.message.attribute(ATTRIBUTE_TENANT).map(str::to_owned));
    for (name, value) in &entry.message.attributes {
        let value = MessageAttributeValue::builder()
            .data_type(attribute_data_type(name))
            .string_value(value)
            .build()
            .map_err(invalid)?;
        builder = builder.message_attributes(*name, value);
    }
    builder.build().map_err(invalid)
}

/// The SDK's error with its causes, for logs; callers never show it to
/// clients. SQS refusing the request itself (a 4xx other than throttling: no
/// such queue, an empty or malformed batch, no permission) is `Invalid`;
/// everything else (network, timeouts, throttling, 5xx) may work later.
fn sdk_error<E>(error: aws_sdk_sqs::error::SdkError<E>) -> QueueError
where
    E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + 'static,
{
    let detail = DisplayErrorContext(&error).to_string();
    let refused = match &error {
        aws_sdk_sqs::error::SdkError::ServiceError(service) => {
            service.raw().status().is_client_error() && !is_throttling(service.err().code())
        }
        _ => false,
    };
    if refused {
        QueueError::Invalid { detail }
    } else {
        QueueError::Unavailable { detail }
    }
}

fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|code| code.contains("Throttl") || code.contains("RequestLimitExceeded"))
}

fn invalid(error: aws_sdk_sqs::error::BuildError) -> QueueError {
    QueueError::Invalid {
        detail: format!("could not build the SQS request: {error}"),
    }
}

impl VisibilityChanger for SqsQueue {
    async fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> Result<Vec<String>, QueueError> {
        let entries = changes
            .iter()
            .map(|change| {
                let seconds = i32::try_from(change.timeout.as_secs()).unwrap_or(i32::MAX);
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(change.id)
                    .receipt_handle(change.receipt_handle)
                    .visibility_timeout(seconds)
                    .build()
                    .map_err(invalid)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .change_message_visibility_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.failed.into_iter().map(|failed| failed.id).collect())
    }
}

impl QueueReceiver for SqsQueue {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        let wait = wait.min(Duration::from_secs(20));
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(poll_timeout(wait))
            .operation_timeout(poll_timeout(wait))
            .build();
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .wait_time_seconds(i32::try_from(wait.as_secs().min(20)).unwrap_or(20))
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .customize()
            .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(timeouts))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(received_message)
            .collect())
    }

    async fn delete(&self, receipt_handles: &[&str]) -> Result<(), QueueError> {
        for chunk in receipt_handles.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipt)
                        .build()
                        .map_err(invalid)
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }
}

/// A received SQS message as the processor sees it (what the event source
/// mapping would hand over).
pub fn received_message(message: Message) -> ReceivedMessage {
    let receive_count = message
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount));
    let attributes = message
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(n, v)| (n, v.string_value));
    ReceivedMessage::received(
        message.message_id,
        message.receipt_handle,
        message.body,
        receive_count,
        attributes,
    )
}
