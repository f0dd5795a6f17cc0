//! The Event Platform commands against the management API test server and a
//! real `serve` that reads its secrets from a Secrets Manager secret in moto
//! (as the deployed receiver does): subscribe, subscribe again, rotation
//! order with every delivery checked, suspend and resume, logs, doctor.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::core::processor::probes::PROBE_LOG_LINE;
use support::Serve;
use support::event_platform_api::{CLIENT_ID, CLIENT_SECRET, EventPlatformApi, PASSWORD, STEADY, USERNAME};

const OLD_SECRET: &str = "the-deployed-event-platform-secret";

/// The stack's secret in moto, and reads of it.
struct StackSecret {
    arn: String,
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_secretsmanager::Client,
}

impl StackSecret {
    fn create(document: Value) -> StackSecret {
        std::env::var("AWS_ENDPOINT_URL")
            .expect("AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts moto");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let client =
            aws_sdk_secretsmanager::Client::new(&runtime.block_on(shared::adapters::aws::sdk_config()));
        let name = format!("relay-ep-{}", uuid_like());
        let created = runtime
            .block_on(
                client
                    .create_secret()
                    .name(name)
                    .secret_string(document.to_string())
                    .send(),
            )
            .expect("moto creates the secret");
        StackSecret {
            arn: created.arn.expect("arn"),
            runtime,
            client,
        }
    }

    fn document(&self) -> Value {
        let value = self
            .runtime
            .block_on(self.client.get_secret_value().secret_id(&self.arn).send())
            .expect("read");
        serde_json::from_str(value.secret_string().expect("text")).expect("json")
    }

    fn event_platform_secrets(&self) -> Vec<String> {
        self.document()["event_platform_secrets"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}

/// A deployment stand-in: `serve` reading the stack's secret, reloading every second.
struct Deployment {
    serve: Serve,
    secret: StackSecret,
    api: EventPlatformApi,
}

impl Deployment {
    fn start() -> Deployment {
        Deployment::with(
            json!({
                "events_api_secrets": "an-events-api-secret",
                "event_platform_secrets": OLD_SECRET,
            }),
            "1",
        )
    }

    /// A stack deployed with the template's defaults: its secret document
    /// with every parameter left empty, reloaded every `refresh_secs`
    /// (the template's 300, or less to keep a long test short).
    fn from_template_default(refresh_secs: &str) -> Deployment {
        Deployment::with(
            json!({"events_api_secrets": "", "event_platform_secrets": "", "notification_secret": ""}),
            refresh_secs,
        )
    }

    fn with(document: Value, refresh_secs: &str) -> Deployment {
        let secret = StackSecret::create(document);
        let serve = Serve::start(
            &["--secrets-arn", &secret.arn],
            None,
            &[("SECRETS_REFRESH_SECS", refresh_secs)],
        );
        Deployment {
            serve,
            secret,
            api: EventPlatformApi::start(),
        }
    }

    fn request_url(&self) -> String {
        format!("http://127.0.0.1:{}/event-platform", self.serve.port)
    }

    /// `akeneo-relay <args>` with the PIM connection and the stack in its environment.
    fn relay(&self, args: &[&str]) -> Outcome {
        self.run(args, true)
    }

    fn run(&self, args: &[&str], stack_flags: bool) -> Outcome {
        let mut command = Command::new(env!("CARGO_BIN_EXE_akeneo-relay"));
        if stack_flags {
            command
                .env("EVENT_PLATFORM_REQUEST_URL", self.request_url())
                .env("SIGNING_SECRETS_ARN", &self.secret.arn);
        }
        let output = command
            .args(args)
            .env("PIM_URL", &self.api.base)
            .env("PIM_CLIENT_ID", CLIENT_ID)
            .env("PIM_CLIENT_SECRET", CLIENT_SECRET)
            .env("PIM_USERNAME", USERNAME)
            .env("PIM_PASSWORD", PASSWORD)
            .env("EVENT_PLATFORM_API_URL", self.api.management_url())
            .output()
            .expect("akeneo-relay runs");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `akeneo-relay <args>` with the PIM connection only: the stack comes from `--stack`.
    fn relay_without_stack_flags(&self, args: &[&str]) -> Outcome {
        self.run(args, false)
    }

    fn subscribe(&self) -> Outcome {
        self.subscribe_with(&[])
    }

    /// `subscribe` with `args` besides the email; it must succeed.
    fn subscribe_with(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["subscribe", "--email", "ops@example.com"];
        all.extend_from_slice(args);
        let outcome = self.relay(&all);
        assert_eq!(outcome.code, 0, "{outcome:?}");
        outcome
    }

    /// Whether the receiver accepts a request signed with `secret` alone.
    fn accepts(&self, secret: &str) -> bool {
        let body = b"[]";
        let headers: Vec<(String, String)> =
            shared::core::signature::event_platform::headers(secret, None, body)
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
        post_status(&self.request_url(), &headers, body) == 200
    }
}

#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    // Read through Debug when an assertion fails.
    #[allow(dead_code)]
    stderr: String,
}

/// POSTs `body` with `headers` and answers the status code.
fn post_status(url: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
    use std::io::Write;
    let address = url.trim_start_matches("http://");
    let (host, path) = address.split_once('/').expect("a path");
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    support::status_of(&mut stream)
}

fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn subscribe_from_nothing_stores_the_secrets_first_then_registers_the_relay() {
    // GIVEN a deployment and an Event Platform with no subscriber
    let deployment = Deployment::start();
    // WHEN subscribe runs
    let outcome = deployment.subscribe();
    // THEN a subscriber notifies the relay's notification route with the secret the stack now holds
    let subscribers = deployment.api.subscribers();
    assert_eq!(subscribers.len(), 1, "{outcome:?}");
    let subscriber = &subscribers[0];
    assert_eq!(subscriber["name"], "akeneo-event-relay");
    assert_eq!(
        subscriber["contact"]["notification_channels"],
        json!(["email", "webhook"])
    );
    assert_eq!(
        subscriber["contact"]["notification_webhook_url"],
        format!("{}/notifications", deployment.request_url())
    );
    let stored = deployment.secret.document();
    let notification_secret = stored["notification_secret"].as_str().expect("stored");
    assert_eq!(
        deployment
            .api
            .webhook_secret(subscriber["id"].as_str().expect("id"))
            .as_deref(),
        Some(notification_secret)
    );
    // AND the subscription signs with a new strong secret the stack lists beside the old one
    let subscriptions = deployment.api.subscriptions();
    assert_eq!(subscriptions.len(), 1);
    let subscription = &subscriptions[0];
    assert_eq!(subscription["config"]["url"], deployment.request_url().as_str());
    assert_eq!(subscription["events"].as_array().expect("events").len(), 10);
    let secret = subscription["config"]["secret"]["primary"]
        .as_str()
        .expect("secret");
    assert_eq!(secret.len(), 64);
    assert_eq!(deployment.secret.event_platform_secrets(), [OLD_SECRET, secret]);
    // AND the first event Akeneo signed with it was accepted
    let deliveries = deployment.api.deliveries();
    assert!(
        !deliveries.is_empty() && deliveries.iter().all(|d| d.status == 200),
        "{deliveries:?}"
    );
}

/// The template's `SECRETS_REFRESH_SECS`.
const TEMPLATE_REFRESH_SECS: &str = "300";

/// What the subscription signs with now (the fake keeps the real secret).
fn subscription_secret(deployment: &Deployment) -> String {
    let subscriptions = deployment.api.subscriptions();
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    subscriptions[0]["config"]["secret"]["primary"]
        .as_str()
        .expect("a primary secret")
        .to_owned()
}

#[test]
fn subscribe_from_the_templates_default_document_gets_every_signed_event_accepted() {
    // GIVEN a stack deployed with the template's defaults (no secret at all,
    // reloaded every 300 s), and Akeneo delivering a signed event to each of
    // its subscriptions five times a second
    let deployment = Deployment::from_template_default(TEMPLATE_REFRESH_SECS);
    deployment.api.keep_delivering(Duration::from_millis(200));
    // WHEN subscribe runs
    let outcome = deployment.relay(&["subscribe", "--email", "ops@example.com"]);
    // THEN it succeeds, and the stack lists the subscription's secret alone, recorded as its
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let secret = subscription_secret(&deployment);
    assert_eq!(deployment.secret.event_platform_secrets(), [secret.as_str()]);
    assert_eq!(
        deployment.secret.document()["event_platform_subscription_secret"],
        secret.as_str()
    );
    // AND every event Akeneo signed during and after the run was accepted
    wait_until(
        "Akeneo delivered for a while after the run",
        Duration::from_secs(20),
        || {
            let deliveries = deployment.api.deliveries();
            deliveries.iter().filter(|d| d.after == STEADY).count() >= 10
        },
    );
    let deliveries = deployment.api.deliveries();
    let refused: Vec<_> = deliveries.iter().filter(|d| d.status != 200).collect();
    assert!(refused.is_empty(), "{refused:?} of {}", deliveries.len());
}

#[test]
fn a_failed_subscribe_says_what_it_changed_and_reruns_converge_on_one_secret() {
    // GIVEN a stack deployed with the template's defaults, and an Event
    // Platform that refuses the next two subscription creations (422)
    let deployment = Deployment::from_template_default(TEMPLATE_REFRESH_SECS);
    deployment.api.keep_delivering(Duration::from_millis(200));
    deployment.api.refuse(
        hyper::Method::POST,
        "/subscriptions",
        hyper::StatusCode::UNPROCESSABLE_ENTITY,
        2,
    );
    // WHEN subscribe runs three times
    let args = ["subscribe", "--email", "ops@example.com"];
    let (first, second, third) = (
        deployment.relay(&args),
        deployment.relay(&args),
        deployment.relay(&args),
    );
    // THEN the first failed, naming what it had already changed and that a rerun continues
    assert_eq!((first.code, second.code), (2, 2), "{first:?}\n{second:?}");
    for change in [
        "notification secret stored in the stack's secret",
        "signing secret stored in the stack's secret",
        "subscriber subscriber-",
        "run `akeneo-relay subscribe` again",
    ] {
        assert!(first.stderr.contains(change), "{change:?} in {first:?}");
    }
    // AND the last succeeded with one subscriber, and one Event Platform
    // secret listed: the one the subscription signs with
    assert_eq!(third.code, 0, "{third:?}");
    assert_eq!(deployment.api.subscribers().len(), 1);
    let secret = subscription_secret(&deployment);
    assert_eq!(deployment.secret.event_platform_secrets(), [secret.as_str()]);
    // AND Akeneo's events signed with it were accepted, and no run printed it
    wait_until("Akeneo delivered", Duration::from_secs(10), || {
        deployment.api.deliveries().iter().any(|d| d.after == STEADY)
    });
    assert!(deployment.api.deliveries().iter().all(|d| d.status == 200));
    for outcome in [&first, &second, &third] {
        assert!(
            !outcome.stdout.contains(&secret) && !outcome.stderr.contains(&secret),
            "{outcome:?}"
        );
    }
}

#[test]
fn rotate_secret_after_a_failed_subscribe_needs_no_current_secret() {
    // GIVEN a stack deployed with the template's defaults (reloaded every
    // second, to keep the rotation short), a subscribe that failed after
    // storing a secret, then one given its own secret: two are listed
    let deployment = Deployment::from_template_default("1");
    deployment.api.refuse(
        hyper::Method::POST,
        "/subscriptions",
        hyper::StatusCode::UNPROCESSABLE_ENTITY,
        1,
    );
    let failed = deployment.relay(&["subscribe", "--email", "ops@example.com"]);
    assert_eq!(failed.code, 2, "{failed:?}");
    let given = "a-secret-the-operator-chose-0123456789";
    deployment.subscribe_with(&["--secret", given]);
    assert_eq!(deployment.secret.event_platform_secrets().len(), 2);
    // WHEN the secret is rotated without --current-secret
    let outcome = deployment.relay(&["rotate-secret", "--settle", "2"]);
    // THEN it rotates from the subscription's secret to a new one, which the stack now records
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let new = subscription_secret(&deployment);
    let first_patch = deployment
        .api
        .changes()
        .into_iter()
        .find(|c| c.method == "PATCH")
        .expect("a PATCH");
    assert_eq!(
        first_patch.body["config"]["secret"],
        json!({"primary": given, "secondary": new})
    );
    assert_eq!(
        deployment.secret.document()["event_platform_subscription_secret"],
        new.as_str()
    );
    assert!(
        !deployment
            .secret
            .event_platform_secrets()
            .contains(&given.to_owned())
    );
}

#[test]
fn subscribe_to_a_url_the_receiver_has_no_route_at_fails_at_once_saying_so() {
    // GIVEN a stack deployed with the template's defaults
    let deployment = Deployment::from_template_default(TEMPLATE_REFRESH_SECS);
    // WHEN subscribe is given a Request URL under a path the receiver does not serve
    let wrong = format!("http://127.0.0.1:{}/relay/event-platform", deployment.serve.port);
    let started = Instant::now();
    let outcome = deployment.relay(&["subscribe", "--email", "ops@example.com", "--request-url", &wrong]);
    // THEN it fails without waiting for the receiver, saying the URL has no such route
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "{outcome:?}");
    assert!(outcome.stderr.contains("has no such route"), "{outcome:?}");
    assert!(deployment.api.subscribers().is_empty());
}

#[test]
fn subscribe_twice_changes_nothing_the_second_time_and_says_so() {
    // GIVEN a deployment subscribed once
    let deployment = Deployment::start();
    deployment.subscribe();
    let changes = deployment.api.changes().len();
    let stored = deployment.secret.document();
    // WHEN subscribe runs again
    let outcome = deployment.subscribe();
    // THEN no change is sent, the stack's secret is as it was, and the output says so
    assert_eq!(deployment.api.changes().len(), changes, "{outcome:?}");
    assert_eq!(deployment.secret.document(), stored);
    assert!(outcome.stdout.contains("nothing to change"), "{outcome:?}");
}

#[test]
fn subscribe_with_other_events_updates_only_them() {
    // GIVEN a deployment subscribed with the default events
    let deployment = Deployment::start();
    deployment.subscribe();
    // WHEN subscribe runs for one event type and a filter
    let outcome = deployment.relay(&[
        "subscribe",
        "--event",
        "com.akeneo.pim.v1.product.deleted",
        "--filter",
        r#"user_type="api""#,
    ]);
    // THEN one PATCH carries the events and the filter, nothing else
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let last = deployment.api.changes().pop().expect("a change");
    assert_eq!(last.method, "PATCH");
    assert_eq!(
        last.body,
        json!({"events": ["com.akeneo.pim.v1.product.deleted"], "filter": "user_type=\"api\""})
    );
}

#[test]
fn subscribe_with_the_connections_user_uuid_asks_akeneo_to_drop_its_events_and_reruns_change_nothing() {
    // GIVEN a deployment subscribed with the default events
    let deployment = Deployment::start();
    deployment.subscribe();
    let uuid = "5f9c2a1e-3b7d-4c8e-9f01-23456789abcd";
    let with_uuid = [
        "subscribe",
        "--filter",
        r#"user_type="api""#,
        "--pim-user-uuid",
        uuid,
    ];
    // WHEN subscribe runs with a filter and the connection's user UUID, twice
    let first = deployment.relay(&with_uuid);
    let changes = deployment.api.changes().len();
    let second = deployment.relay(&with_uuid);
    // THEN the filter sent keeps the user's and leaves out the connection's events
    assert_eq!(first.code, 0, "{first:?}");
    let patch = deployment.api.changes().pop().expect("a change");
    assert_eq!(
        patch.body,
        json!({"filter": format!(r#"(user_type="api") and not user="{uuid}""#)})
    );
    // AND the second run sends nothing
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(deployment.api.changes().len(), changes, "{second:?}");
}

#[test]
fn subscribe_with_keep_own_events_sends_the_users_filter_alone() {
    // GIVEN a deployment subscribed with the connection's events left out
    let deployment = Deployment::start();
    let uuid = "5f9c2a1e-3b7d-4c8e-9f01-23456789abcd";
    let excluded = deployment.relay(&["subscribe", "--email", "ops@example.com", "--pim-user-uuid", uuid]);
    assert_eq!(excluded.code, 0, "{excluded:?}");
    // WHEN subscribe runs again with --keep-own-events
    let outcome = deployment.relay(&["subscribe", "--pim-user-uuid", uuid, "--keep-own-events"]);
    // THEN the exclusion is taken away
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let patch = deployment.api.changes().pop().expect("a change");
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.body, json!({"filter": null}));
}

#[test]
fn rotation_stages_the_secret_in_the_receiver_before_akeneo_signs_with_it() {
    // GIVEN a subscribed deployment
    let deployment = Deployment::start();
    deployment.subscribe();
    let old = deployment
        .secret
        .event_platform_secrets()
        .pop()
        .expect("the subscription's secret");
    let before = deployment.api.deliveries().len();
    // WHEN the secret is rotated (settling for 2 s, the receiver reloading every second)
    let outcome = deployment.relay(&["rotate-secret", "--current-secret", &old, "--settle", "2"]);
    // THEN it succeeds and the subscription's secret changed three times, in order
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let new = deployment.api.subscriptions()[0]["config"]["secret"]["primary"]
        .as_str()
        .expect("primary")
        .to_owned();
    assert_ne!(new, old);
    let patches: Vec<Value> = deployment
        .api
        .changes()
        .into_iter()
        .filter(|c| c.method == "PATCH")
        .map(|c| c.body["config"]["secret"].clone())
        .collect();
    assert_eq!(
        patches,
        [
            json!({"primary": old, "secondary": new}),
            json!({"primary": new, "secondary": old}),
            json!({"primary": new, "secondary": null}),
        ]
    );
    // AND at every step, events signed as Akeneo signs them and with each of its secrets alone were accepted
    let deliveries = &deployment.api.deliveries()[before..];
    assert_eq!(deliveries.len(), 3 + 3 + 2, "{deliveries:?}");
    assert!(deliveries.iter().all(|d| d.status == 200), "{deliveries:?}");
    assert!(deliveries.iter().any(|d| d.signed_with == new));
    // AND the stack's secret ends with the new one only, which the receiver soon applies
    assert!(!deployment.secret.event_platform_secrets().contains(&old));
    assert!(deployment.secret.event_platform_secrets().contains(&new));
    wait_until(
        "the receiver refuses the old secret",
        Duration::from_secs(10),
        || !deployment.accepts(&old),
    );
    assert!(deployment.accepts(&new));
}

#[test]
fn an_events_api_rotation_prints_the_least_loss_order() {
    // GIVEN a deployment
    let deployment = Deployment::start();
    // WHEN a rotation of the Events API secret is asked for
    let outcome = deployment.relay(&["rotate-secret", "--route", "events-api"]);
    // THEN the order is printed and nothing is changed
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.contains("cannot rotate without a gap"),
        "{outcome:?}"
    );
    assert!(deployment.api.calls().is_empty());
}

#[test]
fn suspend_and_resume_change_the_status_through_their_endpoints() {
    // GIVEN a subscribed deployment
    let deployment = Deployment::start();
    deployment.subscribe();
    // WHEN its subscription is suspended
    let suspended = deployment.relay(&["subscriptions", "suspend"]);
    let shown = deployment.relay(&["subscriptions", "show", "--json"]);
    // THEN the suspend endpoint was called and the subscription shows as suspended
    assert_eq!(suspended.code, 0, "{suspended:?}");
    let last = deployment.api.changes().pop().expect("a change");
    assert!(last.path.ends_with("/suspend"), "{last:?}");
    let shown: Value = serde_json::from_str(shown.stdout.trim()).expect("json");
    assert_eq!(shown["status"], "suspended");
    // WHEN it is resumed
    let resumed = deployment.relay(&["subscriptions", "resume"]);
    // THEN the resume endpoint was called and the list shows it active
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert!(
        deployment
            .api
            .changes()
            .pop()
            .expect("a change")
            .path
            .ends_with("/resume")
    );
    let listed = deployment.relay(&["subscriptions", "list"]);
    assert!(listed.stdout.contains("active"), "{listed:?}");
}

#[test]
fn logs_come_newest_first_filtered_and_paged() {
    // GIVEN a subscribed deployment with three delivery errors and an action in the platform's logs
    let deployment = Deployment::start();
    deployment.subscribe();
    let subscription = deployment.api.subscriptions()[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for (time, code) in [
        ("2026-12-02T09:00:00Z", 500),
        ("2026-12-02T11:00:00Z", 401),
        ("2026-12-02T10:00:00Z", 500),
    ] {
        deployment.api.add_log(json!({"log_id": time, "log_type": "error", "timestamp": time, "operation": "failed_to_deliver_event",
            "subscription_id": subscription, "error_reason": "destination_error", "error_code": code, "error_message": "refused"}));
    }
    deployment.api.add_log(
        json!({"log_type": "action", "timestamp": "2026-12-02T12:00:00Z", "subscription_id": subscription}),
    );
    // WHEN the error logs are asked for as JSON
    let outcome = deployment.relay(&[
        "logs",
        "--type",
        "error",
        "--subscription",
        &subscription,
        "--json",
    ]);
    // THEN the three errors come (over two pages), newest first
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let times: Vec<String> = outcome
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["timestamp"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        times,
        [
            "2026-12-02T11:00:00Z",
            "2026-12-02T10:00:00Z",
            "2026-12-02T09:00:00Z"
        ]
    );
    // AND the human form shows one line each with the status code
    let human = deployment.relay(&["logs", "--type", "error", "--since", "2026-12-02T10:00:00Z"]);
    assert_eq!(human.stdout.lines().count(), 2, "{human:?}");
    assert!(human.stdout.contains("code=401"), "{human:?}");
}

#[test]
fn doctor_passes_against_a_healthy_local_serve() {
    // GIVEN serve with its development secrets
    let serve = Serve::start(&[], None, &[]);
    // WHEN doctor checks it
    let output = Command::new(env!("CARGO_BIN_EXE_akeneo-relay"))
        .args(["doctor", "--port", &serve.port.to_string()])
        .output()
        .expect("doctor runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // THEN the Request URL, the test event and its arrival at the processor all pass
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ok    the test event reaches the processor"),
        "{stdout}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    serve.wait_for_output("doctor probe reached the processor", Duration::from_secs(5));
}

#[test]
fn doctor_checks_the_subscription_and_the_secrets_of_a_deployment() {
    // GIVEN a subscribed deployment known by its stack
    let deployment = Deployment::start();
    deployment.subscribe();
    let stack = MotoStack::create(&deployment);
    // WHEN doctor checks it with the subscription
    let healthy = stack.doctor(&deployment, &["--subscription"]);
    // THEN every check passes
    assert_eq!(healthy.code, 0, "{healthy:?}");
    assert!(
        healthy.stdout.contains("is active and delivers to this URL"),
        "{healthy:?}"
    );
    // WHEN the subscription is suspended and doctor runs again
    deployment.relay(&["subscriptions", "suspend"]);
    let suspended = stack.doctor(&deployment, &["--subscription"]);
    // THEN it fails, saying so and what to run
    assert_eq!(suspended.code, 1, "{suspended:?}");
    assert!(
        suspended
            .stdout
            .contains("is suspended; akeneo-relay subscriptions resume"),
        "{suspended:?}"
    );
}

#[test]
fn doctor_fails_when_the_secret_is_wrong() {
    // GIVEN serve with its development secrets
    let serve = Serve::start(&[], None, &[]);
    // WHEN doctor signs with another secret
    let output = Command::new(env!("CARGO_BIN_EXE_akeneo-relay"))
        .args([
            "doctor",
            "--port",
            &serve.port.to_string(),
            "--secret",
            "not-the-secret",
        ])
        .output()
        .expect("doctor runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // THEN the test event fails with the receiver's 401 and the exit code is 1
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  a signed test event is accepted and queued: 401"),
        "{stdout}"
    );
}

/// A CloudFormation stack in moto whose outputs name `deployment`'s parts, as
/// the template's do, and whose processor log group receives what `serve`'s
/// processor logs about doctor probes (as Lambda ships a function's output).
struct MotoStack {
    name: String,
    group: String,
}

impl MotoStack {
    fn create(deployment: &Deployment) -> MotoStack {
        let name = format!("relay-{}", uuid_like());
        let group = format!("/aws/lambda/{name}-processor");
        let template = json!({
            "Resources": {"ProcessorLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": group}}},
            "Outputs": {
                "EventPlatformRequestUrl": {"Value": deployment.request_url()},
                "SigningSecretsArn": {"Value": deployment.secret.arn},
                "ProcessorLogGroupName": {"Value": {"Ref": "ProcessorLogGroup"}},
            },
        });
        let runtime = &deployment.secret.runtime;
        let sdk = runtime.block_on(shared::adapters::aws::sdk_config());
        runtime
            .block_on(
                aws_sdk_cloudformation::Client::new(&sdk)
                    .create_stack()
                    .stack_name(&name)
                    .template_body(template.to_string())
                    .send(),
            )
            .expect("moto creates the stack");
        MotoStack { name, group }
    }

    /// `doctor --stack <this one> <args>` while the processor's lines are shipped.
    fn doctor(&self, deployment: &Deployment, args: &[&str]) -> Outcome {
        let shipping = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while shipping.load(std::sync::atomic::Ordering::Relaxed) {
                    self.ship_probe_lines(deployment);
                    std::thread::sleep(Duration::from_millis(300));
                }
            });
            let mut all = vec!["doctor", "--stack", &self.name, "--within", "20"];
            all.extend_from_slice(args);
            let outcome = deployment.relay_without_stack_flags(&all);
            shipping.store(false, std::sync::atomic::Ordering::Relaxed);
            outcome
        })
    }

    /// Copies the processor's probe lines from `serve`'s output to the log group.
    fn ship_probe_lines(&self, deployment: &Deployment) {
        let runtime = &deployment.secret.runtime;
        let logs =
            aws_sdk_cloudwatchlogs::Client::new(&runtime.block_on(shared::adapters::aws::sdk_config()));
        let stream = "2026/12/02/[$LATEST]probe";
        let _ = runtime.block_on(
            logs.create_log_stream()
                .log_group_name(&self.group)
                .log_stream_name(stream)
                .send(),
        );
        for line in deployment
            .serve
            .output()
            .lines()
            .filter(|l| l.contains(PROBE_LOG_LINE))
        {
            let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64),
                )
                .message(line)
                .build()
                .expect("event");
            runtime
                .block_on(
                    logs.put_log_events()
                        .log_group_name(&self.group)
                        .log_stream_name(stream)
                        .log_events(event)
                        .send(),
                )
                .expect("moto takes the line");
        }
    }
}

#[test]
fn doctor_finds_a_deployment_by_its_stack_and_its_test_event_in_the_processor_logs() {
    // GIVEN a deployment known by its stack's name, whose processor's lines reach its log group
    let deployment = Deployment::start();
    let stack = MotoStack::create(&deployment);
    // WHEN doctor is given only the stack's name
    let outcome = stack.doctor(&deployment, &[]);
    // THEN it checks the stack's URL and secrets, and finds its test event in the processor's log group
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains(&format!("checking {}", deployment.request_url())),
        "{outcome:?}"
    );
    assert!(
        outcome
            .stdout
            .contains("ok    the test event reaches the processor"),
        "{outcome:?}"
    );
    assert!(
        outcome
            .stdout
            .contains("ok    the receiver accepts the stack's Event Platform secret #1"),
        "{outcome:?}"
    );
}

#[test]
fn doctor_fails_when_the_test_event_never_reaches_the_processor_logs() {
    // GIVEN a deployment known by its stack, whose processor logs nothing to its log group
    let deployment = Deployment::start();
    let stack = MotoStack::create(&deployment);
    // WHEN doctor checks it
    let output = Command::new(env!("CARGO_BIN_EXE_akeneo-relay"))
        .args(["doctor", "--stack", &stack.name, "--within", "2"])
        .output()
        .expect("doctor runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // THEN that check fails and the exit code says so
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  the test event reaches the processor"),
        "{stdout}"
    );
}

#[test]
fn doctor_fails_when_akeneo_was_refused_for_its_signature_in_the_last_hour() {
    // GIVEN a subscribed deployment whose delivery log shows a 401 a minute ago
    let deployment = Deployment::start();
    deployment.subscribe();
    let stack = MotoStack::create(&deployment);
    let subscription = deployment.api.subscriptions()[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let a_minute_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    deployment.api.add_log(
        json!({"log_type": "error", "operation": "failed_to_deliver_event", "subscription_id": subscription,
        "timestamp": a_minute_ago.format(&time::format_description::well_known::Rfc3339).expect("time"),
        "error_reason": "destination_error", "error_code": 401}),
    );
    // WHEN doctor checks it with the subscription
    let outcome = stack.doctor(&deployment, &["--subscription"]);
    // THEN the secrets check fails, saying what the 401s mean
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("signs with a secret the receiver does not hold"),
        "{outcome:?}"
    );
}
