//! The receiver's Function URL edge: lambda_http has already decoded base64
//! bodies, so the receiver sees the exact bytes Akeneo signed.

use std::sync::Arc;
use std::time::SystemTime;

use lambda_http::{Body, Request, Response, service_fn};

use crate::core::receiver::{Receiver, Reply};
use crate::observability::gathered;
use crate::ports::queue::QueueSender;

pub async fn run<Q: QueueSender + 'static>(receiver: Receiver<Q>) -> Result<(), lambda_http::Error> {
    let receiver = Arc::new(receiver);
    lambda_http::run(service_fn(move |request: Request| {
        let receiver = Arc::clone(&receiver);
        async move { Ok::<_, std::convert::Infallible>(gathered(respond(&receiver, &request)).await) }
    }))
    .await
}

pub async fn respond<Q: QueueSender>(receiver: &Receiver<Q>, request: &Request) -> Response<Body> {
    let reply = receiver
        .handle(
            request.method(),
            request.uri().path(),
            request.headers(),
            request.body(),
            SystemTime::now(),
        )
        .await;
    into_response(reply)
}

pub fn into_response(reply: Reply) -> Response<Body> {
    let builder = Response::builder().status(reply.status);
    let built = match reply.body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::Text(body)),
        None => builder.body(Body::Empty),
    };
    // Status and header are constants, so building cannot fail; answer 500 rather
    // than panic if that ever changes.
    built.unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Empty);
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
