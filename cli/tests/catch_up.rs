//! `akeneo-relay catch-up` against a real `serve` and the PIM test server:
//! the window's products and product models reach the business logic once,
//! a second run over the same window runs it zero more times, and a run
//! killed half way goes on with `--resume`.

mod support;

#[path = "../../tests/support/pim.rs"]
mod pim;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pim::{CLIENT_ID, CLIENT_SECRET, Config, PASSWORD, PimServer, USERNAME};
use support::Serve;

const SINCE: &str = "2026-12-01T10:00:00Z";
const UNTIL: &str = "2026-12-01T12:00:00Z";

fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// `count` products (and `count / 10` product models) updated across the
/// window, off the slices' boundary seconds.
async fn pim_with(count: usize, config: Config) -> PimServer {
    let server = PimServer::start(config, &[], &[]).await;
    let at = |n: usize| format!("2026-12-01T10:{:02}:{:02}+00:00", (n / 60) % 60, 1 + (n % 59));
    server.put_products((0..count).map(|n| (uuid(n), at(n))));
    server.put_product_models((0..count / 10).map(|n| (format!("model_{n:04}"), at(n))));
    server
}

fn checkpoint_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("catch-up-{}-{name}.json", std::process::id()))
}

fn catch_up(pim: &PimServer, serve: &Serve, checkpoint: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(support::binary());
    command
        .args(["catch-up", "--since", SINCE, "--until", UNTIL, "--json"])
        .args(["--port", &serve.port.to_string()])
        .args([
            "--pim-url",
            &pim.url,
            "--pim-client-id",
            CLIENT_ID,
            "--pim-client-secret",
            CLIENT_SECRET,
        ])
        .args(["--pim-username", USERNAME, "--pim-password", PASSWORD])
        .arg("--checkpoint")
        .arg(checkpoint)
        .args(extra);
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("catch-up runs"))
        .await
        .expect("joined")
}

fn summary(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "no JSON summary; stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Catch-up events the business logic received, by event id.
fn logic_runs(serve: &Serve) -> Vec<String> {
    serve
        .log_lines_with("event received")
        .iter()
        .filter(|line| line["protocol"] == "catch-up")
        .filter_map(|line| line["event_id"].as_str().map(str::to_owned))
        .collect()
}

async fn wait_until(what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_catch_up_reaches_the_logic_once_and_a_second_run_zero_more_times() {
    // GIVEN 300 products and 30 product models updated in the window, and serve
    let pim = pim_with(300, Config::default()).await;
    let serve = Serve::start(&[], None, &[]);
    let first = checkpoint_path("first");
    // WHEN the window is caught up
    let output = run(catch_up(&pim, &serve, &first, &[])).await;
    // THEN it finished, reading and queuing all 330, and the logic ran once for each
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result = summary(&output);
    assert_eq!(
        (result["finished"].as_bool(), result["read"].as_u64()),
        (Some(true), Some(330)),
        "{result}"
    );
    wait_until("330 catch-up events handled", Duration::from_secs(30), || {
        logic_runs(&serve).len() >= 330
    })
    .await;
    // WHEN a second run catches up the same window
    let processed_before = serve.log_lines_with("message processed").len();
    let output = run(catch_up(&pim, &serve, &checkpoint_path("second"), &[])).await;
    let again = summary(&output)["queued"].as_u64().expect("queued");
    // THEN it queued them all again, and the logic ran zero more times
    assert_eq!(again, 330);
    wait_until(
        "the second run's messages processed",
        Duration::from_secs(30),
        || serve.log_lines_with("message processed").len() >= processed_before + 330,
    )
    .await;
    assert_eq!(logic_runs(&serve).len(), 330);
    for path in [first, checkpoint_path("second")] {
        let _ = std::fs::remove_file(path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_catch_up_killed_half_way_goes_on_with_resume() {
    // GIVEN 3,000 products in the window on a PIM taking 100 ms per call, and serve
    let config = Config {
        latency: Duration::from_millis(100),
        ..Config::default()
    };
    let pim = pim_with(3_000, config).await;
    let serve = Serve::start(&[], None, &[]);
    let checkpoint = checkpoint_path("killed");
    // WHEN the run is killed once its checkpoint records ten pages
    let mut child = catch_up(&pim, &serve, &checkpoint, &[])
        .spawn()
        .expect("catch-up starts");
    let pages = |path: &Path| -> u64 {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|saved| saved["tally"]["pages"].as_u64())
            .unwrap_or(0)
    };
    wait_until("ten pages in the checkpoint", Duration::from_secs(30), || {
        pages(&checkpoint) >= 10
    })
    .await;
    child.kill().expect("killed");
    let _ = child.wait();
    let saved_pages = pages(&checkpoint);
    // AND run again without --resume, then with it
    let refused = run(catch_up(&pim, &serve, &checkpoint, &[])).await;
    let searches_before = pim.counts().searches;
    let output = run(catch_up(&pim, &serve, &checkpoint, &["--resume"])).await;
    let searches = pim.counts().searches - searches_before;
    // THEN the plain rerun is refused, naming --resume, and the resumed run finishes
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result = summary(&output);
    assert_eq!(result["finished"].as_bool(), Some(true), "{result}");
    // (it read only the pages after the checkpoint: fewer searches than pages in all)
    let all_pages = result["pages"].as_u64().expect("pages");
    assert!(all_pages > saved_pages, "{result}");
    assert!(
        (searches as u64) < all_pages,
        "{searches} searches for {all_pages} pages"
    );
    // AND the logic saw each of the 3,300 entities once
    wait_until("3,300 catch-up events handled", Duration::from_secs(60), || {
        logic_runs(&serve).len() >= 3_300
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let runs = logic_runs(&serve);
    let unique: std::collections::BTreeSet<&String> = runs.iter().collect();
    assert_eq!((runs.len(), unique.len()), (3_300, 3_300));
    let _ = std::fs::remove_file(checkpoint);
}

/// Posts a signed Event Platform notification of `kind`, stamped now, to
/// serve; answers the status.
fn notify(serve: &Serve, kind: &str) -> u16 {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    let body = format!(
        r#"{{"notification_type":"{kind}","timestamp":"{now}","subscription_id":"sub-1","subscriber_id":"sbr-1","destination":"http://127.0.0.1/event-platform","events":[]}}"#
    );
    let signature = shared::core::signature::event_platform::sign(
        "dev-event-platform-notification-secret",
        body.as_bytes(),
    );
    let request = format!(
        "POST /event-platform/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nX-AKENEO-SIGNATURE-PRIMARY: {signature}\r\nX-AKENEO-SIGNATURE-ALGORITHM: HmacSHA256\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    serve.raw(request.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_suspension_and_a_resume_serve_catches_up_the_window_by_itself() {
    // GIVEN serve with a PIM connection, and a subscription suspended now
    let pim = PimServer::start(Config::default(), &[], &[]).await;
    let serve = Serve::start(
        &[
            "--pim-url",
            &pim.url,
            "--pim-client-id",
            CLIENT_ID,
            "--pim-client-secret",
            CLIENT_SECRET,
            "--pim-username",
            USERNAME,
            "--pim-password",
            PASSWORD,
        ],
        None,
        &[],
    );
    assert_eq!(notify(&serve, "subscription.suspended.system"), 200);
    // AND, while it is suspended, 120 products updated in the PIM (beside one updated three hours ago)
    let now = time::OffsetDateTime::now_utc();
    let at = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("a time")
    };
    pim.put_products((0..120).map(|n| (uuid(n), at(now))));
    pim.put_products([(uuid(999), at(now - time::Duration::hours(3)))]);
    // WHEN the subscription is resumed
    assert_eq!(notify(&serve, "subscription.resumed"), 200);
    // THEN the business logic sees the 120 products, once each, and not the older one
    wait_until("120 catch-up events handled", Duration::from_secs(30), || {
        logic_runs(&serve).len() >= 120
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let runs = logic_runs(&serve);
    let unique: std::collections::BTreeSet<&String> = runs.iter().collect();
    assert_eq!((runs.len(), unique.len()), (120, 120));
    assert!(runs.iter().all(|id| !id.contains(&uuid(999))));
    // AND serve said it started the catch-up
    assert!(serve.output().contains("catch-up started"), "{}", serve.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_with_list_writes_every_entity_the_pim_has_and_queues_nothing() {
    // GIVEN 250 products and 25 product models, and no serve running
    let pim = pim_with(250, Config::default()).await;
    let list = checkpoint_path("list").with_extension("tsv");
    let mut command = Command::new(support::binary());
    command
        .args([
            "catch-up",
            "--since",
            "1970-01-01T00:00:00Z",
            "--dry-run",
            "--json",
        ])
        .args([
            "--pim-url",
            &pim.url,
            "--pim-client-id",
            CLIENT_ID,
            "--pim-client-secret",
            CLIENT_SECRET,
        ])
        .args(["--pim-username", USERNAME, "--pim-password", PASSWORD])
        .arg("--list")
        .arg(&list);
    // WHEN the whole history is listed
    let output = run(command).await;
    // THEN every product and product model is in the file, once, with its updated time
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary(&output)["queued"].as_u64(), Some(0));
    let text = std::fs::read_to_string(&list).expect("the list");
    let lines: std::collections::BTreeSet<&str> = text.lines().collect();
    assert_eq!(lines.len(), 275);
    assert!(
        lines.contains(format!("product\t{}\t2026-12-01T10:00:01Z", uuid(0)).as_str()),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("product-model\tmodel_0000\t"))
    );
    let _ = std::fs::remove_file(list);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_catch_up_onto_an_sqs_queue_queues_each_entity_in_the_relays_envelope() {
    // GIVEN 150 products and 15 product models in the window, and an SQS queue (moto)
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts moto");
    let pim = pim_with(150, Config::default()).await;
    let sqs = aws_sdk_sqs::Client::new(&shared::adapters::aws::sdk_config().await);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("catch-up-{}", std::process::id()))
        .send()
        .await
        .expect("a queue")
        .queue_url
        .expect("its URL");
    let checkpoint = checkpoint_path("sqs");
    // WHEN the window is caught up onto it
    let mut command = Command::new(support::binary());
    command
        .args([
            "catch-up",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--json",
            "--queue-url",
            &queue_url,
        ])
        .args([
            "--pim-url",
            &pim.url,
            "--pim-client-id",
            CLIENT_ID,
            "--pim-client-secret",
            CLIENT_SECRET,
        ])
        .args(["--pim-username", USERNAME, "--pim-password", PASSWORD])
        .arg("--checkpoint")
        .arg(&checkpoint);
    let output = run(command).await;
    // THEN it finished, and the queue holds 165 catch-up messages, each naming its
    // protocol, type and id in attributes, the entity's JSON inside
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary(&output)["queued"].as_u64(), Some(165));
    let mut ids = std::collections::BTreeSet::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let attribute = |name: &str| {
                message
                    .message_attributes()
                    .and_then(|attributes| attributes.get(name))
                    .and_then(|value| value.string_value())
                    .map(str::to_owned)
            };
            assert_eq!(attribute("protocol").as_deref(), Some("catch-up"));
            let event =
                shared::PimEvent::from_message_body(message.body().expect("a body")).expect("an envelope");
            assert!(event.current.is_some() && event.catch_up_run().is_some());
            ids.insert(attribute("id").expect("an id"));
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(message.receipt_handle().expect("a handle"))
                .send()
                .await
                .expect("delete");
        }
    }
    assert_eq!(ids.len(), 165);
    let _ = std::fs::remove_file(checkpoint);
}
