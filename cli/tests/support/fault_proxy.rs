//! A fault-injecting HTTP proxy in front of moto, for the soak: each AWS call
//! that passes through it is forwarded untouched, delayed, answered with a
//! 500 without reaching moto, forwarded and then cut off before the answer
//! (the call landed, the caller cannot know), or held without an answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Chances per call, in percent; the rest is forwarded untouched.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub delay: u64,
    pub server_error: u64,
    pub drop_after_landing: u64,
    pub hang: u64,
}

impl FaultRates {
    pub fn total(&self) -> u64 {
        self.delay + self.server_error + self.drop_after_landing + self.hang
    }
}

#[derive(Debug, Default)]
pub struct FaultCounts {
    pub calls: AtomicU64,
    pub delayed: AtomicU64,
    pub server_errors: AtomicU64,
    pub dropped_after_landing: AtomicU64,
    pub hung: AtomicU64,
}

impl FaultCounts {
    pub fn faulted(&self) -> u64 {
        [
            &self.delayed,
            &self.server_errors,
            &self.dropped_after_landing,
            &self.hung,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

pub struct FaultProxy {
    pub url: String,
    pub counts: Arc<FaultCounts>,
}

/// Starts the proxy on a free port, forwarding to `upstream` (`host:port`).
pub async fn start(upstream: String, rates: FaultRates, seed: u64) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let counts = Arc::new(FaultCounts::default());
    let random = Arc::new(AtomicU64::new(seed.max(1)));
    let shared = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, counts, random) = (upstream.clone(), Arc::clone(&shared), Arc::clone(&random));
            tokio::spawn(async move {
                let _ = relay(client, &upstream, rates, &counts, &random).await;
            });
        }
    });
    FaultProxy { url, counts }
}

/// xorshift: repeatable faults for a given seed, no dependency.
fn next_percent(random: &AtomicU64) -> u64 {
    let mut x = random.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    random.store(x, Ordering::Relaxed);
    x % 100
}

enum Fate {
    Forward,
    Delay(Duration),
    ServerError,
    DropAfterLanding,
    Hang,
}

fn fate(roll: u64, rates: FaultRates) -> Fate {
    let mut edge = 0;
    for (rate, fate) in [
        (
            rates.delay,
            Fate::Delay(Duration::from_millis(100 + roll * 37 % 600)),
        ),
        (rates.server_error, Fate::ServerError),
        (rates.drop_after_landing, Fate::DropAfterLanding),
        (rates.hang, Fate::Hang),
    ] {
        edge += rate;
        if roll < edge {
            return fate;
        }
    }
    Fate::Forward
}

/// One connection: requests read one by one (after an injected 500 the
/// caller may send another), each its own fate.
async fn relay(
    mut client: TcpStream,
    upstream: &str,
    rates: FaultRates,
    counts: &FaultCounts,
    random: &AtomicU64,
) -> std::io::Result<()> {
    loop {
        let Some(request) = read_request(&mut client).await? else {
            return Ok(());
        };
        counts.calls.fetch_add(1, Ordering::Relaxed);
        match fate(next_percent(random), rates) {
            Fate::Forward => {}
            Fate::Delay(by) => {
                counts.delayed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(by).await;
            }
            Fate::ServerError => {
                counts.server_errors.fetch_add(1, Ordering::Relaxed);
                let body = r#"{"__type":"InternalFailure","message":"injected by the soak's proxy"}"#;
                let reply = format!(
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                client.write_all(reply.as_bytes()).await?;
                continue;
            }
            Fate::DropAfterLanding => {
                counts.dropped_after_landing.fetch_add(1, Ordering::Relaxed);
                let _ = forward(&request, upstream).await;
                return Ok(());
            }
            Fate::Hang => {
                counts.hung.fetch_add(1, Ordering::Relaxed);
                // Held until the caller gives up (its timeout) or 60 s pass.
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(60), client.read(&mut sink)).await;
                return Ok(());
            }
        }
        // The reply says `connection: close` (moto's may end at the close, with
        // no length): closing is what tells the caller it is complete.
        let reply = forward(&request, upstream).await?;
        client.write_all(&reply).await?;
        return client.shutdown().await;
    }
}

/// Reads one request (head and `content-length` body); `None` at a clean end.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let length = content_length(&buffer[..head_end]);
    while buffer.len() < head_end + length {
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(buffer))
}

/// Sends the request to moto on a connection of its own and answers the
/// response, marked so the caller opens a new connection for its next call.
async fn forward(request: &[u8], upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server
        .write_all(&with_header(request, "connection: close"))
        .await?;
    let mut reply = Vec::new();
    server.read_to_end(&mut reply).await?;
    Ok(with_header(&reply, "connection: close"))
}

/// The message with `header` added to its head (an existing `connection`
/// header removed).
fn with_header(message: &[u8], header: &str) -> Vec<u8> {
    let Some(end) = find(message, b"\r\n\r\n") else {
        return message.to_vec();
    };
    let head = String::from_utf8_lossy(&message[..end]);
    let mut lines: Vec<&str> = head
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push(header);
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&message[end..]);
    out
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
