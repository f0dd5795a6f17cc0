//! Moving dead letters back to the queue once their cause is fixed.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};

use crate::core::message::DEAD_LETTER_ATTRIBUTES;

/// How [`redrive`] moved the dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    /// SQS moves the messages itself; it reports progress under this handle.
    MoveTask {
        /// The move task's handle.
        task_handle: String,
        /// How many messages the dead-letter queue held when it started (SQS's
        /// approximate count).
        approximate: i64,
    },
    /// Moved here one by one (where SQS has no move task, e.g. local APIs).
    Copied {
        /// How many messages were moved.
        moved: usize,
    },
}

/// Why a redrive stopped; messages already moved stay moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedriveError {
    /// An SQS call failed.
    #[error("SQS failed to {action}: {detail}")]
    Sqs {
        /// What it was doing ("receive from the dead-letter queue", ...).
        action: &'static str,
        /// The SDK's error, with its causes.
        detail: String,
    },
    /// A queue's attributes had no `QueueArn`.
    #[error("the queues did not report their ARNs")]
    NoArn,
    /// A dead letter's attribute could not be copied.
    #[error("could not build a message attribute: {0}")]
    Attribute(String),
}

fn sqs_error<E: std::error::Error + 'static>(
    action: &'static str,
) -> impl FnOnce(aws_sdk_sqs::error::SdkError<E>) -> RedriveError {
    move |error| RedriveError::Sqs {
        action,
        detail: DisplayErrorContext(&error).to_string(),
    }
}

/// Tries StartMessageMoveTask, then falls back to receive-send-delete, which
/// keeps each body and its attributes with their data types (protocol, type,
/// id, a large event's reserved size) and drops the dead-letter reason
/// attributes.
pub async fn redrive(client: &Client, dlq_url: &str, queue_url: &str) -> Result<Redrive, RedriveError> {
    let attributes = |url: &str| {
        let client = client.clone();
        let url = url.to_owned();
        async move {
            client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .map_err(sqs_error("read the queue attributes"))
                .map(|out| out.attributes.unwrap_or_default())
        }
    };
    let dlq = attributes(dlq_url).await?;
    let queue = attributes(queue_url).await?;
    let (Some(source), Some(destination)) = (
        dlq.get(&QueueAttributeName::QueueArn),
        queue.get(&QueueAttributeName::QueueArn),
    ) else {
        return Err(RedriveError::NoArn);
    };
    let approximate = dlq
        .get(&QueueAttributeName::ApproximateNumberOfMessages)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let task = client
        .start_message_move_task()
        .source_arn(source)
        .destination_arn(destination)
        .send()
        .await;
    match task {
        Ok(output) => Ok(Redrive::MoveTask {
            task_handle: output.task_handle.unwrap_or_default(),
            approximate,
        }),
        Err(error) => {
            tracing::debug!(error = %DisplayErrorContext(&error), "no move task; copying instead");
            copy_all(client, dlq_url, queue_url)
                .await
                .map(|moved| Redrive::Copied { moved })
        }
    }
}

async fn copy_all(client: &Client, dlq_url: &str, queue_url: &str) -> Result<usize, RedriveError> {
    let mut moved = 0;
    loop {
        let received = client
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(sqs_error("receive from the dead-letter queue"))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(moved);
        }
        for message in messages {
            let mut send = client
                .send_message()
                .queue_url(queue_url)
                .message_body(message.body.unwrap_or_default());
            for (name, value) in message.message_attributes.unwrap_or_default() {
                if DEAD_LETTER_ATTRIBUTES.contains(&name.as_str()) {
                    continue;
                }
                if let Some(text) = value.string_value {
                    let attribute = MessageAttributeValue::builder()
                        .data_type(value.data_type)
                        .string_value(text)
                        .build()
                        .map_err(|e| RedriveError::Attribute(e.to_string()))?;
                    send = send.message_attributes(name, attribute);
                }
            }
            send.send().await.map_err(sqs_error("send to the queue"))?;
            if let Some(receipt) = message.receipt_handle {
                client
                    .delete_message()
                    .queue_url(dlq_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(sqs_error("delete from the dead-letter queue"))?;
            }
            moved += 1;
        }
    }
}
