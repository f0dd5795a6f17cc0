//! `serve --forward-to` against an endpoint that verifies every request with
//! the official Standard Webhooks library (Python's `standardwebhooks`, in
//! the test tools' venv): the signature is checked by someone else's code.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Serve;

const SECRET: &str = "forwarding-event-platform-secret";
const FORWARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The verifying endpoint, answering `answers` in turn per webhook id.
struct Endpoint {
    child: Child,
    url: String,
    record: PathBuf,
}

impl Endpoint {
    fn start(answers: &str) -> Endpoint {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".tools/moto/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run the tests with scripts/test, which installs it",
            python.display()
        );
        let record = std::env::temp_dir().join(format!("forwarded-{}-{answers}.jsonl", support::free_port()));
        let mut child = Command::new(python)
            .arg(root.join("tests/support/webhook_endpoint.py"))
            .args([
                "--port",
                "0",
                "--secret",
                FORWARD_SECRET,
                "--answers",
                answers,
                "--record",
            ])
            .arg(&record)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the endpoint starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the endpoint says where it listens");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("a URL")
            .to_owned();
        Endpoint {
            child,
            url: format!("{url}/akeneo"),
            record,
        }
    }

    /// What it received, in order.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.record);
    }
}

fn serve_forwarding_to(endpoint: &Endpoint) -> Serve {
    Serve::start(
        &[
            "--event-platform-secret",
            SECRET,
            "--forward-to",
            &endpoint.url,
            "--forward-secret",
            FORWARD_SECRET,
            "--backoff-cap",
            "1",
        ],
        None,
        &[],
    )
}

fn event(event_id: &str, uuid: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{event_id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub-1","time":"2026-12-07T10:00:00Z","data":{{"product":{{"uuid":"{uuid}"}},"author":{{"identifier":"b238e9f7-fcec-45bd-9431-d43cd624b244","type":"user"}}}}}}"#
    )
}

/// Delivers `body` as Akeneo does, signed; answers the status.
fn deliver(serve: &Serve, body: &str) -> u16 {
    let mut head = format!(
        "POST /event-platform HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/cloudevents+json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in shared::core::signature::event_platform::headers(SECRET, None, body.as_bytes()) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    serve.raw(format!("{head}{body}").as_bytes())
}

fn wait_until(serve: &Serve, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "not within 30 s: {what}\n{}",
            serve.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn outcomes(serve: &Serve, event_id: &str) -> Vec<String> {
    serve
        .log_lines_with("message processed")
        .iter()
        .filter(|line| line["event_id"] == event_id)
        .filter_map(|line| line["outcome"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn each_event_arrives_once_signed_as_the_standard_webhooks_library_verifies() {
    // GIVEN serve forwarding to an endpoint that answers 200
    let endpoint = Endpoint::start("200");
    let serve = serve_forwarding_to(&endpoint);
    // WHEN three events about three products are delivered, the first one twice
    let bodies: Vec<String> = (1..=3)
        .map(|n| event(&format!("fw-{n}"), &format!("uuid-{n}")))
        .collect();
    for body in bodies.iter().chain([&bodies[0]]) {
        assert_eq!(deliver(&serve, body), 200);
    }
    wait_until(&serve, "every event done", || {
        (1..=3).all(|n| outcomes(&serve, &format!("fw-{n}")).contains(&"done".to_owned()))
    });
    wait_until(&serve, "the duplicate handled", || {
        serve.log_lines_with("message processed").len() == 4
    });
    // THEN the endpoint verified three requests, one per event, the duplicate not sent
    let received = endpoint.received();
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(received.iter().all(|r| r["verified"] == true), "{received:?}");
    let mut ids: Vec<&str> = received.iter().filter_map(|r| r["webhook_id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["fw-1", "fw-2", "fw-3"]);
    // AND each body is the documented document, the event in it as sent
    // Events about different products are forwarded concurrently: match by id, not arrival order.
    for body in received.iter().map(|r| &r["body"]) {
        let sent = bodies
            .iter()
            .map(|b| serde_json::from_str::<Value>(b).expect("json"))
            .find(|sent| sent["id"] == body["event_id"])
            .expect("a sent event");
        assert_eq!(body["version"], 1);
        assert_eq!(body["type"], "product.updated");
        assert_eq!(body["event_id"], sent["id"]);
        assert_eq!(body["event"], sent);
    }
}

#[test]
fn an_endpoint_that_answers_503_gets_the_event_again_until_it_takes_it() {
    // GIVEN an endpoint that answers 503 once, then 200
    let endpoint = Endpoint::start("503,200");
    let serve = serve_forwarding_to(&endpoint);
    // WHEN an event is delivered
    assert_eq!(deliver(&serve, &event("fw-busy", "uuid-busy")), 200);
    // THEN its message is retried, then done, and the endpoint got it twice, signed both times
    wait_until(&serve, "the event done", || {
        outcomes(&serve, "fw-busy").last().map(String::as_str) == Some("done")
    });
    assert_eq!(outcomes(&serve, "fw-busy"), ["retried", "done"]);
    let statuses: Vec<(i64, bool)> = endpoint
        .received()
        .iter()
        .map(|r| {
            (
                r["status_answered"].as_i64().unwrap_or_default(),
                r["verified"] == true,
            )
        })
        .collect();
    assert_eq!(statuses, [(503, true), (200, true)]);
}

#[test]
fn an_endpoint_that_answers_400_gets_the_event_dead_lettered_with_that_status() {
    // GIVEN an endpoint that refuses with 400
    let endpoint = Endpoint::start("400");
    let serve = serve_forwarding_to(&endpoint);
    // WHEN an event is delivered
    assert_eq!(deliver(&serve, &event("fw-refused", "uuid-refused")), 200);
    // THEN its message is dead-lettered at once, the status logged, and it is not sent again
    wait_until(&serve, "the event dead-lettered", || {
        !outcomes(&serve, "fw-refused").is_empty()
    });
    assert_eq!(outcomes(&serve, "fw-refused"), ["dead_lettered"]);
    let refusals = serve.log_lines_with("event not forwarded");
    assert!(refusals.iter().any(|line| line["status"] == 400), "{refusals:?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(endpoint.received().len(), 1);
}
