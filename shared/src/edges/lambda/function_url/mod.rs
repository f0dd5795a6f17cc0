//! The receiver's Function URL edge. The invocation is parsed straight into
//! the few fields the receiver reads (see `event`): lambda_http would parse it
//! twice and build an `http::Request` around it, which at 10 events cost more
//! CPU than verifying and splitting them (BENCHMARKS.md, issue 13).

mod event;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::SystemTime;

use lambda_runtime::{LambdaEvent, Runtime, service_fn};

pub use self::event::{FunctionUrlError, FunctionUrlRequest, FunctionUrlResponse};
use crate::core::receiver::Receiver;
use crate::observability::gathered;
use crate::ports::queue::QueueSender;

pub async fn run<Q: QueueSender + 'static>(receiver: Receiver<Q>) -> Result<(), lambda_runtime::Error> {
    let receiver = Arc::new(receiver);
    // Without lambda_runtime's tracing layer: its span per invocation never
    // reaches a log line (the JSON logs show the innermost span, the
    // receiver's own) and was measurable CPU per request.
    Runtime::new(service_fn(move |invocation: LambdaEvent<FunctionUrlRequest>| {
        let receiver = Arc::clone(&receiver);
        async move {
            Ok::<_, std::convert::Infallible>(gathered(respond(&receiver, &invocation.payload)).await)
        }
    }))
    .run()
    .await
}

pub async fn respond<Q: QueueSender>(
    receiver: &Receiver<Q>,
    request: &FunctionUrlRequest,
) -> FunctionUrlResponse {
    let body = match request.body_bytes() {
        Ok(body) => body,
        Err(error) => return refused(&error),
    };
    let reply = receiver
        .handle(
            &request.request_context.http.method,
            &request.raw_path,
            &request.headers,
            &body,
            SystemTime::now(),
        )
        .await;
    FunctionUrlResponse::new(reply.status, reply.body)
}

fn refused(error: &FunctionUrlError) -> FunctionUrlResponse {
    tracing::warn!(error = error.code(), "request refused: {error}");
    let body = serde_json::json!({ "error": error.code(), "message": error.to_string() });
    FunctionUrlResponse::new(error.status(), Some(body.to_string()))
}
