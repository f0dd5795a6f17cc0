//! The local HTTP edge `akeneo-relay serve` listens with: hands each request to
//! the receiver's own handling, as the Function URL edge does in AWS.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::core::receiver::Receiver;
use crate::ports::queue::QueueSender;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Path of the local-only admin action that moves dead letters back.
pub const REDRIVE_PATH: &str = "/_relay/redrive";

pub type Redrive = Arc<dyn Fn() -> usize + Send + Sync>;

/// Serves until `shutdown` turns true, then waits (up to 10 s) for requests in
/// flight so none is cut off after its events were queued.
pub async fn serve<Q: QueueSender + 'static>(
    listener: TcpListener,
    receiver: Arc<Receiver<Q>>,
    redrive: Option<Redrive>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let receiver = Arc::clone(&receiver);
                let redrive = redrive.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let receiver = Arc::clone(&receiver);
                        let redrive = redrive.clone();
                        async move { Ok::<_, Infallible>(respond(&receiver, redrive, request).await) }
                    });
                    let _ = http1::Builder::new().keep_alive(false).serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

async fn respond<Q: QueueSender>(
    receiver: &Receiver<Q>,
    redrive: Option<Redrive>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    if parts.uri.path() == REDRIVE_PATH
        && let Some(redrive) = redrive
    {
        return json(StatusCode::OK, format!(r#"{{"moved":{}}}"#, redrive()));
    }
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_body","message":"the body could not be read"}"#.into(),
            );
        }
    };
    let reply = receiver
        .handle(
            &parts.method,
            parts.uri.path(),
            &parts.headers,
            &body,
            SystemTime::now(),
        )
        .await;
    match reply.body {
        Some(text) => json(reply.status, text),
        None => Response::builder()
            .status(reply.status)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}
