//! One `serve` for three tenants, written by `akeneo-relay tenants add`:
//! each tenant's events are checked against its own secrets, reach the
//! business logic stamped with its tenant and given its own PIM's product,
//! and are deduplicated per tenant.

mod support;

#[path = "../../tests/support/pim.rs"]
mod pim;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pim::{CLIENT_ID, CLIENT_SECRET, Config, PASSWORD, PimServer, USERNAME};
use shared::core::signature::event_platform;
use support::Serve;

const ACME_PRODUCT: &str = "0a000000-0000-4000-8000-000000000001";
const BETA_PRODUCT: &str = "0b000000-0000-4000-8000-000000000002";

fn tenants_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tenants-{}-{name}.json", std::process::id()))
}

/// `akeneo-relay tenants add <name> --file <file>`, with the PIM if given.
fn add_tenant(file: &Path, name: &str, pim: Option<&PimServer>) {
    let mut command = Command::new(support::binary());
    command.args(["tenants", "add", name, "--file"]).arg(file);
    if let Some(pim) = pim {
        command
            .args(["--pim-url", &pim.url, "--pim-client-id", CLIENT_ID])
            .args(["--pim-client-secret", CLIENT_SECRET, "--pim-username", USERNAME])
            .args(["--pim-password", PASSWORD]);
    }
    let output = command.output().expect("tenants add runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The Event Platform secret `tenants add` made for `name`.
fn secret_of(file: &Path, name: &str) -> String {
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("file")).expect("JSON");
    document["tenants"][name]["event_platform_secrets"]
        .as_str()
        .expect("a secret")
        .to_owned()
}

fn product_event(id: &str, uuid: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub-1","time":"2026-12-07T10:00:00Z","data":{{"product":{{"uuid":"{uuid}"}},"author":{{"identifier":"julia","type":"ui"}}}}}}"#
    )
}

/// Posts `body` to `tenant`'s Event Platform route, signed with `secret`.
async fn deliver(serve: &Serve, tenant: &str, secret: &str, body: &str) -> u16 {
    let url = format!("http://127.0.0.1:{}/t/{tenant}/event-platform", serve.port);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut request = reqwest::Client::new().post(url).body(body.to_owned());
    for (name, value) in event_platform::headers(secret, None, body.as_bytes()) {
        request = request.header(name, value);
    }
    request.send().await.expect("an answer").status().as_u16()
}

/// (tenant, event id, current) of each event the business logic received.
fn handled(serve: &Serve) -> Vec<(String, String, String)> {
    let text = |line: &serde_json::Value, key: &str| line[key].as_str().unwrap_or("-").to_owned();
    let mut seen: Vec<_> = serve
        .log_lines_with("event received")
        .iter()
        .map(|line| {
            (
                text(line, "tenant"),
                text(line, "event_id"),
                text(line, "current"),
            )
        })
        .collect();
    seen.sort();
    seen
}

async fn wait_until(what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// acme and beta, each with its own PIM knowing one product, and gamma
/// without a PIM, served by one `serve`.
async fn three_tenants(name: &str) -> (Serve, PathBuf, PimServer, PimServer) {
    let acme_pim = PimServer::start(Config::default(), &[ACME_PRODUCT], &[]).await;
    let beta_pim = PimServer::start(Config::default(), &[BETA_PRODUCT], &[]).await;
    let file = tenants_file(name);
    let _ = std::fs::remove_file(&file);
    add_tenant(&file, "acme", Some(&acme_pim));
    add_tenant(&file, "beta", Some(&beta_pim));
    add_tenant(&file, "gamma", None);
    let tenants = file.to_str().expect("a UTF-8 path").to_owned();
    let serve = Serve::start(&["--tenants", &tenants], None, &[]);
    (serve, file, acme_pim, beta_pim)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tenants_events_reach_the_logic_with_its_tenant_and_its_own_pims_product() {
    // GIVEN three tenants, two of them with their own PIM
    let (serve, file, _acme_pim, _beta_pim) = three_tenants("own-pim").await;
    // WHEN each tenant's PIM sends an event about its product, and acme one about beta's
    let sent = [
        deliver(
            &serve,
            "acme",
            &secret_of(&file, "acme"),
            &product_event("a-1", ACME_PRODUCT),
        )
        .await,
        deliver(
            &serve,
            "acme",
            &secret_of(&file, "acme"),
            &product_event("a-2", BETA_PRODUCT),
        )
        .await,
        deliver(
            &serve,
            "beta",
            &secret_of(&file, "beta"),
            &product_event("b-1", BETA_PRODUCT),
        )
        .await,
        deliver(
            &serve,
            "gamma",
            &secret_of(&file, "gamma"),
            &product_event("g-1", ACME_PRODUCT),
        )
        .await,
    ];
    // THEN each was taken, and reached the logic with its tenant and what its own PIM has
    assert_eq!(sent, [200; 4]);
    wait_until("four events handled", Duration::from_secs(20), || {
        handled(&serve).len() >= 4
    })
    .await;
    let strings = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(t, i, c)| (t.to_string(), i.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(
        handled(&serve),
        strings(&[
            ("acme", "a-1", "found"),
            ("acme", "a-2", "gone"),
            ("beta", "b-1", "found"),
            ("gamma", "g-1", "-"),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_id_runs_once_per_tenant() {
    // GIVEN three tenants
    let (serve, file, _acme_pim, _beta_pim) = three_tenants("same-id").await;
    let event = product_event("same-id", ACME_PRODUCT);
    // WHEN acme delivers the event twice (at least once) and beta an event with the same id
    let acme = secret_of(&file, "acme");
    let sent = [
        deliver(&serve, "acme", &acme, &event).await,
        deliver(&serve, "acme", &acme, &event).await,
        deliver(&serve, "beta", &secret_of(&file, "beta"), &event).await,
    ];
    // THEN the logic ran once for each tenant
    assert_eq!(sent, [200; 3]);
    wait_until("three messages processed", Duration::from_secs(20), || {
        serve.log_lines_with("message processed").len() >= 3
    })
    .await;
    let runs: Vec<String> = handled(&serve).into_iter().map(|(tenant, ..)| tenant).collect();
    assert_eq!(runs, ["acme", "beta"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_for_one_tenant_is_refused_at_anothers_url_and_an_unknown_tenant_is_404() {
    // GIVEN three tenants
    let (serve, file, _acme_pim, _beta_pim) = three_tenants("refusals").await;
    let event = product_event("x-1", ACME_PRODUCT);
    // WHEN acme's signed event is sent to beta's URL, and to a tenant that does not exist
    let at_beta = deliver(&serve, "beta", &secret_of(&file, "acme"), &event).await;
    let at_nobody = deliver(&serve, "delta", &secret_of(&file, "acme"), &event).await;
    // THEN beta refuses it, the unknown tenant is 404 with a log line, and nothing was queued
    assert_eq!((at_beta, at_nobody), (401, 404));
    assert!(!serve.log_lines_with("tenant this relay does not have").is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(handled(&serve).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_added_while_serving_is_served_without_a_restart() {
    // GIVEN serve with acme only, rereading its file every second
    let file = tenants_file("added");
    let _ = std::fs::remove_file(&file);
    add_tenant(&file, "acme", None);
    let tenants = file.to_str().expect("a UTF-8 path").to_owned();
    let serve = Serve::start(&["--tenants", &tenants], None, &[("SECRETS_REFRESH_SECS", "1")]);
    let event = product_event("n-1", ACME_PRODUCT);
    // WHEN beta is added with `tenants add`
    add_tenant(&file, "beta", None);
    let secret = secret_of(&file, "beta");
    // THEN beta's events are taken within a few seconds
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = deliver(&serve, "beta", &secret, &event).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "beta still answered {status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_catch_up_of_a_tenants_pim_reaches_the_logic_as_that_tenants_events() {
    // GIVEN acme's PIM with 30 products updated in the window, and beta's with none
    let (serve, file, acme_pim, _beta_pim) = three_tenants("catch-up").await;
    acme_pim.put_products((0..30).map(|n| {
        (
            format!("0a000000-0000-4000-8000-{n:012}"),
            format!("2026-12-01T10:{:02}:30+00:00", n),
        )
    }));
    let checkpoint = std::env::temp_dir().join(format!("tenant-catch-up-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&checkpoint);
    // WHEN acme's PIM is caught up onto serve
    let output = Command::new(support::binary())
        .args([
            "catch-up",
            "--since",
            "2026-12-01T10:00:00Z",
            "--until",
            "2026-12-01T11:00:00Z",
        ])
        .args(["--tenant", "acme", "--tenants"])
        .arg(&file)
        .args(["--port", &serve.port.to_string(), "--json", "--checkpoint"])
        .arg(&checkpoint)
        .output()
        .expect("catch-up runs");
    // THEN the 30 products reach the logic as acme's catch-up events, with the product read
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_until("30 catch-up events handled", Duration::from_secs(20), || {
        handled(&serve).len() >= 30
    })
    .await;
    let seen = handled(&serve);
    assert_eq!(seen.len(), 30);
    assert!(
        seen.iter().all(|(tenant, id, current)| tenant == "acme"
            && id.starts_with("product/")
            && current == "found"),
        "{seen:?}"
    );
}

/// A secret in moto holding `{"tenants":{}}`, as the template creates both.
async fn empty_tenants_secret(client: &aws_sdk_secretsmanager::Client, name: &str) -> String {
    let name = format!("relay-{name}-{}-{}", std::process::id(), uuid_like());
    let created = client
        .create_secret()
        .name(name)
        .secret_string(r#"{"tenants":{}}"#)
        .send()
        .await
        .expect("moto creates the secret");
    created.arn.expect("arn")
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn secret_text(client: &aws_sdk_secretsmanager::Client, arn: &str) -> String {
    let value = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .expect("read");
    value.secret_string().expect("text").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stacks_tenant_goes_to_two_secrets_and_the_receivers_holds_no_pim_credential() {
    // GIVEN a deployment's two tenants secrets (moto)
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts moto");
    let client = aws_sdk_secretsmanager::Client::new(&shared::adapters::aws::sdk_config().await);
    let routes = empty_tenants_secret(&client, "tenant-routes").await;
    let pims = empty_tenants_secret(&client, "tenant-pims").await;
    let tenants = |args: &[&str]| {
        let output = Command::new(support::binary())
            .arg("tenants")
            .args(args)
            .args(["--tenants-secret-arn", &routes, "--tenant-pims-secret-arn", &pims])
            .env_remove("AKENEO_RELAY_STACK")
            .output()
            .expect("tenants runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // WHEN acme is added with its PIM connection, and beta without one
    tenants(
        &[
            "add",
            "acme",
            "--pim-url",
            "https://acme.example",
            "--pim-client-id",
            "c",
        ]
        .iter()
        .copied()
        .chain([
            "--pim-client-secret",
            "s",
            "--pim-username",
            "u",
            "--pim-password",
            "the-password",
        ])
        .collect::<Vec<_>>(),
    );
    tenants(&["add", "beta"]);
    // THEN the receiver's secret has both tenants' routes and no credential, the
    // processor's their connections, and the list joins the two
    let route_text = secret_text(&client, &routes).await;
    let pim_text = secret_text(&client, &pims).await;
    assert!(
        !route_text.contains("the-password") && !route_text.contains("\"pim\""),
        "{route_text}"
    );
    assert!(
        route_text.contains("acme") && route_text.contains("beta"),
        "{route_text}"
    );
    assert!(
        pim_text.contains("the-password") && !pim_text.contains("event_platform_secrets"),
        "{pim_text}"
    );
    let listed: serde_json::Value = serde_json::from_str(&tenants(&["list", "--json"])).expect("JSON");
    assert_eq!(listed["tenants"][0]["pim_url"], "https://acme.example");
    assert_eq!(listed["tenants"][1]["pim_url"], serde_json::Value::Null);
    // WHEN acme is removed
    tenants(&["remove", "acme"]);
    // THEN it is gone from both
    assert!(!secret_text(&client, &routes).await.contains("acme"));
    assert!(!secret_text(&client, &pims).await.contains("acme"));
}

/// Posts a signed notification of `kind`, stamped now, to `tenant`'s
/// notification route; answers the status.
async fn notify(serve: &Serve, file: &Path, tenant: &str, kind: &str) -> u16 {
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("file")).expect("JSON");
    let secret = document["tenants"][tenant]["notification_secret"]
        .as_str()
        .expect("a notification secret");
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    let body = format!(
        r#"{{"notification_type":"{kind}","timestamp":"{now}","subscription_id":"sub-{tenant}","subscriber_id":"sbr-1","destination":"http://127.0.0.1/t/{tenant}/event-platform","events":[]}}"#
    );
    let url = format!(
        "http://127.0.0.1:{}/t/{tenant}/event-platform/notifications",
        serve.port
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .post(url)
        .header(
            event_platform::PRIMARY_HEADER,
            event_platform::sign(secret, body.as_bytes()),
        )
        .header(event_platform::ALGORITHM_HEADER, "HmacSHA256")
        .body(body)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_resumed_subscription_is_caught_up_from_that_tenants_pim_by_itself() {
    // GIVEN three tenants, and acme's subscription suspended now
    let (serve, file, acme_pim, beta_pim) = three_tenants("resume").await;
    assert_eq!(
        notify(&serve, &file, "acme", "subscription.suspended.system").await,
        200
    );
    // AND, while it is suspended, 20 products updated in acme's PIM and 20 in beta's
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    acme_pim.put_products((0..20).map(|n| (format!("0a000000-0000-4000-8000-{n:012}"), now.clone())));
    beta_pim.put_products((0..20).map(|n| (format!("0b000000-0000-4000-8000-{n:012}"), now.clone())));
    // WHEN acme's subscription is resumed
    assert_eq!(notify(&serve, &file, "acme", "subscription.resumed").await, 200);
    // THEN the logic sees acme's 20 products, as acme's, read from acme's PIM, and nothing of beta's
    wait_until("20 catch-up events handled", Duration::from_secs(30), || {
        handled(&serve).len() >= 20
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = handled(&serve);
    assert_eq!(seen.len(), 20, "{seen:?}");
    assert!(
        seen.iter().all(|(tenant, id, current)| tenant == "acme"
            && id.starts_with("product/0a")
            && current == "found"),
        "{seen:?}"
    );
}
