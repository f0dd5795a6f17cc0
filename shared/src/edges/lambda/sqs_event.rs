//! The processor's SQS event source mapping edge: records in, partial batch
//! response out.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::FutureExt;
use lambda_runtime::{LambdaEvent, service_fn};

use crate::core::processor::Processor;
use crate::ports::handler::EventHandler;
use crate::ports::queue::{QueueSender, ReceivedMessage, VisibilityChanger};

/// A failed message without an id cannot be named in the partial response, and
/// an empty identifier would fail the whole batch anyway; say so plainly.
#[derive(Debug, thiserror::Error)]
#[error("{0} failed message(s) have no message id; failing the whole batch so none is lost")]
pub struct UnidentifiedFailures(usize);

/// Runs the processor Lambda: hands each SQS batch to `processor` and
/// answers a partial batch response (the failed message ids), until the
/// runtime stops. Errors only when the runtime cannot start or talk to
/// Lambda.
pub async fn run<H, D, V>(processor: Processor<H, D, V>) -> Result<(), lambda_runtime::Error>
where
    H: EventHandler,
    D: QueueSender + 'static,
    V: VisibilityChanger + 'static,
{
    let processor = Arc::new(processor);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let processor = Arc::clone(&processor);
        // Type-erased: nested in the runtime's own futures, the batch future's
        // type can be deep enough to overflow the compiler's layout query.
        async move {
            let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            handle_sqs_event_until(&processor, event.payload, deadline)
                .await
                .map_err(lambda_runtime::Error::from)
        }
        .boxed()
    }))
    .await
}

/// Every failure is reported per message, so a batch where everything failed is
/// still a normal answer and the function's error metric means it broke.
pub async fn handle_sqs_event<H, D, V>(
    processor: &Processor<H, D, V>,
    event: SqsEvent,
) -> Result<SqsBatchResponse, UnidentifiedFailures>
where
    H: EventHandler,
    D: QueueSender,
    V: VisibilityChanger,
{
    let deadline = SystemTime::now() + crate::core::processor::DEFAULT_RUN_TIME;
    handle_sqs_event_until(processor, event, deadline).await
}

/// As [`handle_sqs_event`], for an invocation that Lambda stops at `deadline`.
pub async fn handle_sqs_event_until<H, D, V>(
    processor: &Processor<H, D, V>,
    event: SqsEvent,
    deadline: SystemTime,
) -> Result<SqsBatchResponse, UnidentifiedFailures>
where
    H: EventHandler,
    D: QueueSender,
    V: VisibilityChanger,
{
    let messages: Vec<ReceivedMessage> = event.records.into_iter().map(received_message).collect();
    let dispositions = processor.process_batch_until(&messages, deadline).await;
    let failed: Vec<&str> = messages
        .iter()
        .zip(&dispositions)
        .filter(|(_, disposition)| disposition.is_failure())
        .map(|(message, _)| message.message_id.as_str())
        .collect();
    let unidentified = failed.iter().filter(|id| id.is_empty()).count();
    if unidentified > 0 {
        return Err(UnidentifiedFailures(unidentified));
    }
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    Ok(response)
}

/// What the event source mapping hands over, as the processor reads it.
pub fn received_message(message: SqsMessage) -> ReceivedMessage {
    let receive_count = message.attributes.get("ApproximateReceiveCount");
    let attributes = message
        .message_attributes
        .iter()
        .map(|(n, v)| (n.clone(), v.string_value.clone()));
    ReceivedMessage::received(
        message.message_id,
        message.receipt_handle,
        message.body,
        receive_count,
        attributes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::embedded::EmbeddedQueue;
    use crate::core::event::PimEvent;
    use crate::core::processor::Settings;
    use crate::ports::handler::Outcome;

    /// Retries events whose id starts with `retry`.
    struct RetriesSome;

    impl EventHandler for RetriesSome {
        async fn handle(&self, event: &PimEvent) -> Outcome {
            match event.id.as_deref() {
                Some(id) if id.starts_with("retry") => Outcome::Retry("later".into()),
                _ => Outcome::Done,
            }
        }
    }

    fn processor() -> Processor<RetriesSome, EmbeddedQueue, EmbeddedQueue> {
        let queue = || EmbeddedQueue::new("q", std::time::Duration::from_secs(30));
        Processor::new(RetriesSome, queue(), queue(), Settings::default())
    }

    fn sqs_message(id: Option<&str>, event_id: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = id.map(Into::into);
        message.receipt_handle = Some("rh".into());
        message.body = Some(format!(
            r#"{{"v":1,"protocol":"event-platform","id":"{event_id}","type":"com.akeneo.pim.v1.product.updated","event":{{}}}}"#
        ));
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), "2".into());
        message
    }

    #[tokio::test]
    async fn the_batch_response_names_only_the_failed_messages() {
        // GIVEN a batch of a done, a retried and a dead-lettered message
        let mut event = SqsEvent::default();
        event.records = vec![
            sqs_message(Some("m1"), "ok-1"),
            sqs_message(Some("m2"), "retry-2"),
        ];
        let mut garbage = sqs_message(Some("m3"), "x");
        garbage.body = Some("garbage".into());
        event.records.push(garbage);
        // WHEN the event source mapping hands it over
        let response = handle_sqs_event(&processor(), event).await.expect("a response");
        // THEN only the retried message is named as failed
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m2"]);
    }

    #[tokio::test]
    async fn an_empty_batch_answers_an_empty_list_of_failures() {
        // GIVEN no records
        // WHEN the event source mapping hands them over
        let response = handle_sqs_event(&processor(), SqsEvent::default())
            .await
            .expect("a response");
        // THEN the answer is the empty partial response Lambda expects
        assert_eq!(
            serde_json::to_string(&response).expect("JSON"),
            r#"{"batchItemFailures":[]}"#
        );
    }

    #[tokio::test]
    async fn a_failed_message_without_an_id_fails_the_whole_invocation() {
        // GIVEN a retried message without a message id
        let mut event = SqsEvent::default();
        event.records = vec![sqs_message(None, "retry-1")];
        // WHEN the event source mapping hands it over
        let answer = handle_sqs_event(&processor(), event).await;
        // THEN the invocation fails, so nothing is lost
        assert!(answer.is_err());
    }

    #[test]
    fn a_record_carries_its_receive_count() {
        // GIVEN a record received for the second time
        // WHEN it becomes a received message
        let message = received_message(sqs_message(Some("m1"), "e"));
        // THEN its id and receive count are kept
        assert_eq!((message.message_id.as_str(), message.receive_count), ("m1", 2));
    }
}
