//! An Akeneo that answers like an attacker or a broken proxy could: the PIM's
//! token and REST endpoints and the Event Platform's management API on one
//! port, each answering either as Akeneo documents it (PIM-API.md,
//! EVENT-PLATFORM-API.md) or with one hostile behaviour set at run time:
//! redirects to another host, a `Retry-After` or `expires_in` past any clock,
//! endless and huge bodies, next page links elsewhere or to themselves.
//!
//! Every request it receives is recorded, headers and body included, so a
//! second instance can play "the other host" and show that nothing secret ever
//! reached it. Its searches answer a product marked as coming from it, so a
//! test also sees whether its data could have become an event's `current`.
//!
//! Standard library only, one thread per connection and `Connection: close`,
//! so both the library tests and the CLI tests include it with `#[path]`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CLIENT_ID: &str = "hostile-test-client";
pub const CLIENT_SECRET: &str = "hostile-test-client-secret-value";
pub const USERNAME: &str = "relay_hostile";
pub const PASSWORD: &str = "hostile-test-password-value";

/// The management API's path on this server.
pub const MANAGEMENT_PATH: &str = "/api/v1";

/// Which of its APIs a behaviour applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `POST /api/oauth/v1/token`.
    Token,
    /// `/api/rest/v1/...`.
    Rest,
    /// `/api/v1/...`, the management API.
    Management,
}

/// How one API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// As Akeneo documents it.
    Healthy,
    /// This 3xx, to this absolute URL.
    Redirect { status: u16, to: String },
    /// 429 with this `Retry-After` value.
    RateLimited(String),
    /// A token answer whose `expires_in` is this JSON text (token API only).
    TokenExpiresIn(String),
    /// 200 with a chunked body that never ends (until the client hangs up).
    EndlessBody,
    /// 200 announcing this many bytes in `Content-Length`, and sending them.
    HugeBody(u64),
    /// Lists (management API) and search pages (REST API, one product
    /// each) link their next page to this href.
    NextLink(String),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The whole request as text, to search for a secret in.
    pub fn text(&self) -> String {
        let headers: Vec<String> = self.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!(
            "{} {}\n{}\n\n{}",
            self.method,
            self.target,
            headers.join("\n"),
            self.body
        )
    }
}

#[derive(Default)]
struct State {
    behaviours: Mutex<HashMap<Api, Behaviour>>,
    requests: Mutex<Vec<Recorded>>,
    issued: Mutex<u64>,
    stopped: AtomicBool,
}

pub struct HostileAkeneo {
    /// `http://127.0.0.1:<port>`: the PIM's URL.
    pub url: String,
    state: Arc<State>,
}

impl Drop for HostileAkeneo {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

impl HostileAkeneo {
    /// Listens on a free local port, every API healthy.
    pub fn start() -> HostileAkeneo {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(State::default());
        let serving = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if serving.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&serving);
                std::thread::spawn(move || serve(&state, stream));
            }
        });
        HostileAkeneo { url, state }
    }

    /// The management API's base URL on this server.
    pub fn management_url(&self) -> String {
        format!("{}{MANAGEMENT_PATH}", self.url)
    }

    pub fn set(&self, api: Api, behaviour: Behaviour) {
        self.state.behaviours.lock().expect("lock").insert(api, behaviour);
    }

    /// Every API answers as documented again.
    pub fn heal(&self) {
        self.state.behaviours.lock().expect("lock").clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Requests whose target starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.target.starts_with(prefix))
            .count()
    }

    fn behaviour(&self, api: Api) -> Behaviour {
        behaviour(&self.state, api)
    }
}

fn behaviour(state: &State, api: Api) -> Behaviour {
    state
        .behaviours
        .lock()
        .expect("lock")
        .get(&api)
        .cloned()
        .unwrap_or(Behaviour::Healthy)
}

fn serve(state: &State, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    let api = if request.target.starts_with("/api/oauth/v1/token") {
        Api::Token
    } else if request.target.starts_with(MANAGEMENT_PATH) {
        Api::Management
    } else {
        Api::Rest
    };
    state.requests.lock().expect("lock").push(request.clone());
    let mut stream = stream;
    match behaviour(state, api) {
        Behaviour::Redirect { status, to } => {
            let head = format!("HTTP/1.1 {status} Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\n");
            write_answer(&mut stream, &head, "");
        }
        Behaviour::RateLimited(retry_after) => {
            let head = format!(
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\nContent-Type: application/json\r\n"
            );
            write_answer(
                &mut stream,
                &head,
                r#"{"code":429,"message":"Too many requests"}"#,
            );
        }
        Behaviour::EndlessBody => endless(&mut stream),
        Behaviour::HugeBody(length) => huge(&mut stream, length),
        Behaviour::TokenExpiresIn(expires_in) if api == Api::Token => {
            let body = token_answer(state, &expires_in);
            write_answer(&mut stream, &json_head(200), &body);
        }
        Behaviour::NextLink(href) if api == Api::Management => {
            let body = format!(
                r#"{{"items":[{}],"_links":{{"next":{{"href":"{href}"}}}}}}"#,
                subscriber_json()
            );
            write_answer(&mut stream, &json_head(200), &body);
        }
        Behaviour::NextLink(href) if api == Api::Rest => {
            let body = format!(
                r#"{{"_embedded":{{"items":[{}]}},"_links":{{"next":{{"href":"{href}"}}}}}}"#,
                product("hostile-1", "hostile")
            );
            write_answer(&mut stream, &json_head(200), &body);
        }
        _ => healthy(state, api, &request, &mut stream),
    }
}

fn json_head(status: u16) -> String {
    format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n")
}

fn write_answer(stream: &mut TcpStream, head: &str, body: &str) {
    let mut head = head.to_owned();
    if !head.contains("Content-Length") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// `{"items":[` and then product after product, forever.
fn endless(stream: &mut TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let item = format!(
        r#"{{"uuid":"endless","values":{{"name":"{}"}}}},"#,
        "x".repeat(60_000)
    );
    let chunk = format!("{:x}\r\n{item}\r\n", item.len());
    let opening = r#"{"_embedded":{"items":["#;
    let _ = stream.write_all(format!("{:x}\r\n{opening}\r\n", opening.len()).as_bytes());
    while stream.write_all(chunk.as_bytes()).is_ok() {}
}

/// Announces `length` bytes and sends that many (or until the client hangs up).
fn huge(stream: &mut TcpStream, length: u64) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let block = vec![b' '; 64 * 1024];
    let mut left = length;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        if stream.write_all(&block[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
}

fn token_answer(state: &State, expires_in: &str) -> String {
    let mut issued = state.issued.lock().expect("lock");
    *issued += 1;
    format!(
        r#"{{"access_token":"hostile-access-{n}","expires_in":{expires_in},"token_type":"bearer","scope":null,"refresh_token":"hostile-refresh-{n}"}}"#,
        n = *issued
    )
}

fn subscriber_json() -> String {
    r#"{"id":"sub-1","name":"akeneo-event-relay","contact":{"technical_email":"ops@example.com"}}"#.to_owned()
}

/// A product as the REST API answers it, marked with the server that sent it.
fn product(uuid: &str, origin: &str) -> String {
    format!(
        r#"{{"uuid":"{uuid}","identifier":"sku-{uuid}","enabled":true,"family":"accessories","values":{{"origin":[{{"locale":null,"scope":null,"data":"{origin}"}}]}}}}"#
    )
}

fn healthy(state: &State, api: Api, request: &Recorded, stream: &mut TcpStream) {
    let origin = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map_or_else(String::new, |(_, v)| v.clone());
    match api {
        Api::Token => write_answer(stream, &json_head(200), &token_answer(state, "3600")),
        Api::Management
            if request
                .target
                .starts_with(&format!("{MANAGEMENT_PATH}/subscribers")) =>
        {
            let body = format!(r#"{{"items":[{}]}}"#, subscriber_json());
            write_answer(stream, &json_head(200), &body);
        }
        Api::Management => write_answer(stream, &json_head(200), r#"{"items":[]}"#),
        Api::Rest => {
            let uuids = searched_uuids(&request.target);
            let items: Vec<String> = uuids.iter().map(|uuid| product(uuid, &origin)).collect();
            let body = format!(r#"{{"_embedded":{{"items":[{}]}}}}"#, items.join(","));
            write_answer(stream, &json_head(200), &body);
        }
    }
}

/// The uuids of `?search={"uuid":[{"operator":"IN","value":[…]}]}`.
fn searched_uuids(target: &str) -> Vec<String> {
    let Some(query) = target.split_once('?').map(|(_, q)| q) else {
        return Vec::new();
    };
    let Some(search) = query.split('&').find_map(|pair| pair.strip_prefix("search=")) else {
        return Vec::new();
    };
    let decoded = percent_decode(search);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&decoded) else {
        return Vec::new();
    };
    value
        .pointer("/uuid/0/value")
        .and_then(serde_json::Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().unwrap_or(0);
        }
        headers.push((name, value));
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
