//! The receiver's Function URL edge, on lambda_http: the invocation is read
//! as lambda_http's event (`LambdaRequest`, the API Gateway v2 shape Function
//! URLs use), turned into its `http::Request` ([`request::into_request`]),
//! handled, and the `http::Response` written back in the Function URL format
//! ([`response::to_wire`]).
//!
//! Run with `lambda_runtime`'s `Runtime` rather than `lambda_http::run`, for
//! two reasons measured or shown in the tests: lambda_http decodes a base64
//! body with `expect` (a body that does not decode would be a panic and a 502,
//! where the receiver answers 400 `invalid_encoding`), and `lambda_http::run`
//! adds a tracing layer whose span per invocation reaches no log line.

pub mod request;
pub mod response;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::SystemTime;

use lambda_http::{Body, Response};
use lambda_runtime::{LambdaEvent, Runtime, service_fn};

pub use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest as FunctionUrlEvent;
pub use lambda_http::request::LambdaRequest;

pub use self::request::{FunctionUrlError, RawPath, into_request};
pub use self::response::{FunctionUrlResponse, to_wire};
use crate::core::receiver::Receiver;
use crate::observability::gathered;
use crate::ports::queue::QueueSender;

/// Runs the receiver Lambda: answers each Function URL invocation with
/// `receiver` until the runtime stops. Errors only when the runtime cannot
/// start or talk to Lambda.
pub async fn run<Q: QueueSender + 'static>(receiver: Receiver<Q>) -> Result<(), lambda_runtime::Error> {
    let receiver = Arc::new(receiver);
    // Read as the one event shape a Function URL sends: `LambdaRequest`'s own
    // deserialiser first copies the whole event into a RawValue, then parses
    // it again for each shape it knows.
    Runtime::new(service_fn(move |invocation: LambdaEvent<FunctionUrlEvent>| {
        let receiver = Arc::clone(&receiver);
        async move {
            let event = LambdaRequest::ApiGatewayV2(invocation.payload);
            let response = gathered(respond(&receiver, event)).await;
            Ok::<_, std::convert::Infallible>(to_wire(response))
        }
    }))
    .run()
    .await
}

/// The receiver's answer to one Function URL invocation.
pub async fn respond<Q: QueueSender>(receiver: &Receiver<Q>, event: LambdaRequest) -> Response<Body> {
    let request = match into_request(event) {
        Ok(request) => request,
        Err(error) => return refused(&error),
    };
    let path = request
        .extensions()
        .get::<RawPath>()
        .map_or("", |path| path.0.as_str());
    let reply = receiver
        .handle(
            request.method(),
            path,
            request.headers(),
            request.body().as_ref(),
            SystemTime::now(),
        )
        .await;
    response::json(reply.status, reply.body)
}

fn refused(error: &FunctionUrlError) -> Response<Body> {
    tracing::warn!(error = error.code(), "request refused: {error}");
    let body = serde_json::json!({ "error": error.code(), "message": error.to_string() });
    response::json(error.status(), Some(body.to_string()))
}
