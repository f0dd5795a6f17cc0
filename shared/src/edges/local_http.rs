//! The local HTTP edge `akeneo-relay serve` listens with: hands each request to
//! the receiver's own handling, as the Function URL edge does in AWS. It is a
//! developer tool, but it listens on a port: it refuses what a Function URL
//! refuses (bodies over 6 MB), does not let slow or endless requests hold it,
//! survives running out of file descriptors, and logs every request it refuses
//! before the receiver sees it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::core::receiver::Receiver;
use crate::ports::queue::QueueSender;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Path of the local-only admin action that moves dead letters back.
pub const REDRIVE_PATH: &str = "/_relay/redrive";

/// Path of the local-only admin question "has the processor seen this doctor
/// probe?": `GET /_relay/probes/<event id>`, with the same token.
pub const PROBES_PATH: &str = "/_relay/probes/";

/// Path of the local-only admin action that puts messages on the embedded
/// queue (`akeneo-relay catch-up` against `serve`), with the same token:
/// `POST {"messages":[{"body":"…","attributes":{"protocol":"catch-up",…}}]}`,
/// answered `{"ids":["…",…]}`.
pub const QUEUE_PATH: &str = "/_relay/queue";

/// A Function URL refuses a request body over 6 MB with 413; so does `serve`.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// How long a client may take to send its request line and headers, and then
/// its body. Akeneo sends both at once; a client that trickles is holding a
/// connection (and, for a body, memory) open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`HEADER_READ_TIMEOUT`]: the body's share.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// After a failed accept (out of file descriptors, mostly), wait before the
/// next one instead of spinning on the error; doubled up to the maximum while
/// accepts keep failing.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The redrive action and the token a request for it must carry (as
/// `Authorization: Bearer <token>`): only a process that can read the token
/// file `serve` wrote, not a web page in the developer's browser, triggers it.
#[derive(Clone)]
pub struct RedriveAdmin {
    /// The token (`Authorization: Bearer <token>`).
    pub token: String,
    /// Moves the dead letters back; answers how many.
    pub action: Arc<dyn Fn() -> usize + Send + Sync>,
    /// Whether the processor has seen the doctor probe with this event id.
    pub probe_seen: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    /// Puts one message (body, attributes) on the queue; answers its id.
    pub enqueue: Arc<dyn Fn(String, HashMap<String, String>) -> String + Send + Sync>,
}

#[derive(serde::Deserialize)]
struct QueueRequest {
    messages: Vec<QueueRequestMessage>,
}

#[derive(serde::Deserialize)]
struct QueueRequestMessage {
    body: String,
    #[serde(default)]
    attributes: HashMap<String, String>,
}

/// Where `serve` on `port` keeps its redrive token: the user's runtime folder
/// when there is one (private to them), else the temporary folder.
pub fn redrive_token_path(port: u16) -> PathBuf {
    let folder = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|path| path.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    folder.join(format!("akeneo-relay-{port}.redrive-token"))
}

/// Serves until `shutdown` turns true, then waits (up to 10 s) for requests in
/// flight so none is cut off after its events were queued.
pub async fn serve<Q: QueueSender + 'static>(
    listener: TcpListener,
    receiver: Arc<Receiver<Q>>,
    redrive: Option<RedriveAdmin>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut backoff = ACCEPT_BACKOFF;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(reason = %error, retry_in_ms = backoff.as_millis() as u64, "could not accept a connection");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = shutdown.changed() => break,
                        }
                        backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                        continue;
                    }
                };
                backoff = ACCEPT_BACKOFF;
                let receiver = Arc::clone(&receiver);
                let redrive = redrive.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let receiver = Arc::clone(&receiver);
                        let redrive = redrive.clone();
                        async move { Ok::<_, Infallible>(respond(&receiver, redrive.as_ref(), peer, request).await) }
                    });
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service);
                    if let Err(error) = connection.await {
                        log_refused(peer, &error);
                    }
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

/// hyper answers malformed requests itself (400, 414, 431) or drops them
/// (header timeout); either way the receiver never saw them, so say so here.
fn log_refused(peer: SocketAddr, error: &hyper::Error) {
    let reason = if error.is_parse_too_large() {
        "request line or headers too large"
    } else if error.is_parse() || error.is_parse_status() {
        "malformed request"
    } else if error.is_timeout() {
        "headers not received in time"
    } else if error.is_incomplete_message() {
        "connection closed mid-request"
    } else {
        "connection error"
    };
    tracing::warn!(%peer, reason, detail = %error, "request refused before the receiver");
}

async fn respond<Q: QueueSender>(
    receiver: &Receiver<Q>,
    redrive: Option<&RedriveAdmin>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    if parts.uri.path() == REDRIVE_PATH
        && let Some(redrive) = redrive
    {
        return redrive_action(redrive, &parts.method, &parts.headers, peer);
    }
    if let (Some(probe), Some(admin)) = (parts.uri.path().strip_prefix(PROBES_PATH), redrive) {
        return probe_question(admin, probe, &parts.headers, peer);
    }
    let refused = |status: StatusCode, code: &str, message: &str, reason: &str| {
        tracing::warn!(%peer, path = parts.uri.path(), status = status.as_u16(), reason, "request refused before the receiver");
        json(status, format!(r#"{{"error":"{code}","message":"{message}"}}"#))
    };
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect()).await;
    let body = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is over 6 MB",
                "body over 6 MB",
            );
        }
        Ok(Err(_)) => {
            return refused(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body could not be read",
                "body could not be read",
            );
        }
        Err(_) => {
            return refused(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body did not arrive in time",
                "body not received in time",
            );
        }
    };
    if parts.uri.path() == QUEUE_PATH
        && let Some(admin) = redrive
    {
        return queue_action(admin, &parts.method, &parts.headers, &body, peer);
    }
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

fn redrive_action(
    redrive: &RedriveAdmin,
    method: &Method,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    if method != Method::POST {
        tracing::warn!(%peer, %method, "redrive refused: not a POST");
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"method_not_allowed","message":"redrive is a POST"}"#.into(),
        );
    }
    if !same_token(bearer(headers), &redrive.token) {
        tracing::warn!(%peer, "redrive refused: missing or wrong token");
        return json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"unauthorized","message":"redrive needs the token serve wrote (akeneo-relay redrive reads it)"}"#.into(),
        );
    }
    let moved = (redrive.action)();
    tracing::info!(moved, "dead letters moved back to the queue");
    json(StatusCode::OK, format!(r#"{{"moved":{moved}}}"#))
}

fn queue_action(
    admin: &RedriveAdmin,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    if method != Method::POST || !same_token(bearer(headers), &admin.token) {
        tracing::warn!(%peer, %method, "queue action refused: not a POST with the token");
        return json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"unauthorized","message":"the admin routes need a POST with the token serve wrote"}"#
                .into(),
        );
    }
    let Ok(request) = serde_json::from_slice::<QueueRequest>(body) else {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_body","message":"expected {\"messages\":[{\"body\":…,\"attributes\":{…}}]}"}"#.into(),
        );
    };
    let ids: Vec<String> = request
        .messages
        .into_iter()
        .map(|message| (admin.enqueue)(message.body, message.attributes))
        .collect();
    json(StatusCode::OK, serde_json::json!({ "ids": ids }).to_string())
}

fn probe_question(
    admin: &RedriveAdmin,
    probe: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    if !same_token(bearer(headers), &admin.token) {
        tracing::warn!(%peer, "probe question refused: missing or wrong token");
        return json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"unauthorized","message":"the admin routes need the token serve wrote"}"#.into(),
        );
    }
    if (admin.probe_seen)(probe) {
        json(StatusCode::OK, r#"{"seen":true}"#.into())
    } else {
        json(StatusCode::NOT_FOUND, r#"{"seen":false}"#.into())
    }
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn same_token(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}
