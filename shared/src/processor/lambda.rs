//! The SQS event source mapping edge: records in, partial batch response out.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::FutureExt;
use lambda_runtime::{LambdaEvent, service_fn};

use super::{EventHandler, Processor, Record};
use crate::queue::{QueueSender, VisibilityChanger};

/// A failed message without an id cannot be named in the partial response, and
/// an empty identifier would fail the whole batch anyway; say so plainly.
#[derive(Debug, thiserror::Error)]
#[error("{0} failed message(s) have no message id; failing the whole batch so none is lost")]
pub struct UnidentifiedFailures(usize);

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
            handle_sqs_event(&processor, event.payload)
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
    let records: Vec<Record> = event.records.into_iter().map(record_from_sqs).collect();
    let dispositions = processor.process_batch(&records).await;
    let failed: Vec<&str> = records
        .iter()
        .zip(&dispositions)
        .filter(|(_, disposition)| disposition.is_failure())
        .map(|(record, _)| record.message_id.as_str())
        .collect();
    let unidentified = failed.iter().filter(|id| id.is_empty()).count();
    if unidentified > 0 {
        return Err(UnidentifiedFailures(unidentified));
    }
    let mut response = SqsBatchResponse::default();
    response.set_failures(failed);
    Ok(response)
}

pub fn record_from_sqs(message: SqsMessage) -> Record {
    let receive_count = message.attributes.get("ApproximateReceiveCount");
    let attributes = message
        .message_attributes
        .iter()
        .map(|(n, v)| (n.clone(), v.string_value.clone()));
    Record::received(
        message.message_id,
        message.receipt_handle,
        message.body,
        receive_count,
        attributes,
    )
}
