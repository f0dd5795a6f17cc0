//! The PIM REST API client against the PIM test server: tokens (one per
//! lifetime, refreshed before expiry, renewed after a 401), reads (one, many
//! in one search, pages), the limit on calls in flight, 429 and 5xx within
//! the deadline, typed errors without secrets.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use shared::adapters::akeneo::{
    AuthError, ConnectionSettings, PimClient, PimError, RetryPolicy, TransportError,
};
use shared::config::Credentials;
use tokio::time::Instant;

use crate::support::pim::{self, Config, Fault, PimServer};
use crate::support::wait;

fn credentials() -> Credentials {
    Credentials {
        client_id: pim::CLIENT_ID.into(),
        client_secret: pim::CLIENT_SECRET.into(),
        username: pim::USERNAME.into(),
        password: pim::PASSWORD.into(),
    }
}

fn settings(max_concurrent_calls: usize) -> ConnectionSettings {
    ConnectionSettings {
        max_concurrent_calls,
        retry: RetryPolicy {
            first_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
    }
}

fn client(server: &PimServer, max_concurrent_calls: usize) -> PimClient {
    PimClient::new(&server.url, &credentials(), settings(max_concurrent_calls)).expect("client")
}

fn within(duration: Duration) -> Instant {
    Instant::now() + duration
}

const SECOND: Duration = Duration::from_secs(1);

fn uuids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect()
}

fn refs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

fn uuid_of(raw: &serde_json::value::RawValue) -> String {
    serde_json::from_str::<Value>(raw.get()).expect("json")["uuid"]
        .as_str()
        .expect("uuid")
        .to_owned()
}

#[tokio::test]
async fn a_stream_of_calls_asks_for_one_token() {
    // GIVEN a PIM whose tokens live an hour
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    // WHEN twenty calls are made one after another
    for _ in 0..20 {
        client.product(&known[0], within(5 * SECOND)).await.expect("read");
    }
    // THEN one password grant served them all
    let counts = server.counts();
    assert_eq!((counts.password_grants, counts.refresh_grants), (1, 0));
    assert_eq!(counts.gets, 20);
}

#[tokio::test]
async fn a_token_close_to_its_expiry_is_refreshed_before_the_pim_refuses_it() {
    // GIVEN a PIM whose tokens live 2 s (renewed in their last half)
    let known = uuids(1);
    let config = Config {
        token_lifetime: 2 * SECOND,
        ..Config::default()
    };
    let server = PimServer::start(config, &refs(&known), &[]).await;
    let client = client(&server, 1);
    // WHEN calls go on past half the token's life
    wait::until("the token is refreshed", 5 * SECOND, || async {
        client.product(&known[0], within(5 * SECOND)).await.expect("read");
        (server.counts().refresh_grants > 0).then_some(())
    })
    .await;
    // THEN it was refreshed with the refresh token, never refused, with no second password grant
    let counts = server.counts();
    assert_eq!((counts.password_grants, counts.refresh_grants), (1, 1));
    assert_eq!(counts.unauthorized, 0);
}

#[tokio::test]
async fn a_token_the_pim_answers_401_to_is_renewed_once_and_the_call_succeeds() {
    // GIVEN a client holding a token, which the PIM then expires
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    client
        .product(&known[0], within(5 * SECOND))
        .await
        .expect("first read");
    server.expire_access_tokens();
    // WHEN the next call is made
    let product = client.product(&known[0], within(5 * SECOND)).await;
    // THEN it got one 401, a refreshed token, and the product
    assert_eq!(uuid_of(&product.expect("read").expect("found")), known[0]);
    let counts = server.counts();
    assert_eq!(counts.unauthorized, 1);
    assert_eq!((counts.password_grants, counts.refresh_grants), (1, 1));
}

#[tokio::test]
async fn wrong_credentials_are_typed_errors_that_show_no_secret() {
    // GIVEN a wrong password, and a wrong client secret
    let server = PimServer::start(Config::default(), &[], &[]).await;
    let wrong_password = Credentials {
        password: "wrong-password-value".into(),
        ..credentials()
    };
    let wrong_secret = Credentials {
        client_secret: "wrong-secret-value".into(),
        ..credentials()
    };
    // WHEN each tries a call
    let mut errors = Vec::new();
    for credentials in [wrong_password, wrong_secret] {
        let client = PimClient::new(&server.url, &credentials, settings(1)).expect("client");
        errors.push(
            client
                .product("x", within(5 * SECOND))
                .await
                .expect_err("refused"),
        );
    }
    // THEN one is refused by the password grant (400), the other by the client check (422),
    // and neither error, printed either way, shows a secret
    assert!(
        matches!(&errors[0], PimError::Auth(AuthError::Refused { status: 400, message }) if message.contains("Invalid username and password")),
        "{:?}",
        errors[0]
    );
    assert!(
        matches!(&errors[1], PimError::Auth(AuthError::ClientRefused { .. })),
        "{:?}",
        errors[1]
    );
    for error in &errors {
        let printed = format!("{error} {error:?}");
        for secret in [
            "wrong-password-value",
            "wrong-secret-value",
            pim::PASSWORD,
            pim::CLIENT_SECRET,
        ] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(!error.is_transient());
    }
}

#[tokio::test]
async fn a_product_or_product_model_that_does_not_exist_is_none_not_an_error() {
    // GIVEN a PIM that knows one product and one product model
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &["jacket"]).await;
    let client = client(&server, 1);
    let deadline = within(5 * SECOND);
    // WHEN those and unknown ones are read
    let product = client.product(&known[0], deadline).await.expect("read");
    let missing = client
        .product("ffffffff-0000-4000-8000-000000000000", deadline)
        .await;
    let model = client.product_model("jacket", deadline).await.expect("read");
    let missing_model = client.product_model("boots", deadline).await;
    // THEN the known ones are found and the unknown ones are None
    assert_eq!(uuid_of(&product.expect("found")), known[0]);
    assert!(matches!(missing, Ok(None)), "{missing:?}");
    assert!(model.expect("found").get().contains(r#""code":"jacket""#));
    assert!(matches!(missing_model, Ok(None)), "{missing_model:?}");
}

#[tokio::test]
async fn ten_products_are_one_search_call_and_the_unknown_ones_are_simply_absent() {
    // GIVEN a PIM that knows eight of ten uuids
    let wanted = uuids(10);
    let server = PimServer::start(Config::default(), &refs(&wanted[..8]), &[]).await;
    let client = client(&server, 1);
    // WHEN the ten are read
    let found = client
        .products_by_uuid(&wanted, within(5 * SECOND))
        .await
        .expect("search");
    // THEN one search named all ten, and the eight known ones came back
    assert_eq!(server.counts().searches, 1);
    assert_eq!(server.searches()[0].values, wanted);
    let mut keys: Vec<_> = found.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, wanted[..8]);
    assert_eq!(server.counts().gets, 0);
}

#[tokio::test]
async fn uuids_are_searched_a_hundred_at_a_time() {
    // GIVEN 250 uuids the PIM knows
    let wanted = uuids(250);
    let server = PimServer::start(Config::default(), &refs(&wanted), &[]).await;
    let client = client(&server, 4);
    // WHEN they are read
    let found = client
        .products_by_uuid(&wanted, within(5 * SECOND))
        .await
        .expect("search");
    // THEN three searches of at most 100 got them all
    let mut sizes: Vec<_> = server.searches().iter().map(|s| s.values.len()).collect();
    sizes.sort();
    assert_eq!(sizes, [50, 100, 100]);
    assert_eq!(found.len(), 250);
}

#[tokio::test]
async fn search_pages_are_followed_through_their_next_links() {
    // GIVEN a PIM that puts at most 3 items on a page
    let wanted = uuids(10);
    let config = Config {
        page_size: 3,
        ..Config::default()
    };
    let server = PimServer::start(config, &refs(&wanted), &[]).await;
    let client = client(&server, 1);
    // WHEN the ten are read
    let found = client
        .products_by_uuid(&wanted, within(5 * SECOND))
        .await
        .expect("search");
    // THEN four pages were fetched and every product came back
    let pages: Vec<_> = server.searches().iter().map(|s| s.page).collect();
    assert_eq!(pages, [1, 2, 3, 4]);
    assert_eq!(found.len(), 10);
}

#[tokio::test]
async fn product_models_are_searched_by_code() {
    // GIVEN a PIM with two product models
    let server = PimServer::start(Config::default(), &[], &["jacket", "boots"]).await;
    let client = client(&server, 1);
    let codes = vec!["jacket".to_owned(), "boots".to_owned(), "hat".to_owned()];
    // WHEN three codes are read
    let found = client
        .product_models_by_code(&codes, within(5 * SECOND))
        .await
        .expect("search");
    // THEN one search on product models found the two
    assert_eq!(server.searches()[0].collection, "product-models");
    let mut keys: Vec<_> = found.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["boots", "jacket"]);
}

#[tokio::test]
async fn a_429_is_waited_out_as_its_retry_after_asks() {
    // GIVEN a PIM that rate-limits the next call for 1 s
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    client.product(&known[0], within(5 * SECOND)).await.expect("warm");
    server.fail_next(&[Fault::RateLimited(1)]);
    let started = Instant::now();
    // WHEN a call is made with 5 s to go
    let product = client.product(&known[0], within(5 * SECOND)).await;
    // THEN it succeeds after waiting the second out
    assert!(product.expect("read").is_some());
    assert!(started.elapsed() >= SECOND, "{:?}", started.elapsed());
    assert!(started.elapsed() < 3 * SECOND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_within_the_deadline() {
    // GIVEN a PIM whose next three calls fail with 503, 500 and 502
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    server.fail_next(&[Fault::Status(503), Fault::Status(500), Fault::Status(502)]);
    // WHEN a call is made with 5 s to go
    let product = client.product(&known[0], within(5 * SECOND)).await;
    // THEN the fourth attempt gets the product
    assert!(product.expect("read").is_some());
    assert_eq!(server.counts().faults, 3);
    assert_eq!(server.counts().gets, 1);
}

#[tokio::test]
async fn an_answer_slower_than_the_attempt_timeout_is_abandoned_and_tried_again() {
    // GIVEN a client giving each attempt 300 ms, and a PIM whose next answer takes 5 s
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let mut settings = settings(1);
    settings.retry.attempt_timeout = Duration::from_millis(300);
    let client = PimClient::new(&server.url, &credentials(), settings).expect("client");
    client.product(&known[0], within(5 * SECOND)).await.expect("warm");
    server.fail_next(&[Fault::Slow(5 * SECOND)]);
    let started = Instant::now();
    // WHEN a call is made with 4 s to go
    let product = client.product(&known[0], within(4 * SECOND)).await;
    // THEN the second attempt gets the product long before the slow answer
    assert!(product.expect("read").is_some());
    assert!(started.elapsed() < 2 * SECOND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_retry_after_that_ends_past_the_deadline_fails_at_once() {
    // GIVEN a PIM that asks to wait 60 s
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    client.product(&known[0], within(5 * SECOND)).await.expect("warm");
    server.fail_next(&[Fault::RateLimited(60)]);
    let started = Instant::now();
    // WHEN a call is made with 3 s to go
    let error = client
        .product(&known[0], within(3 * SECOND))
        .await
        .expect_err("rate-limited");
    // THEN it fails without waiting, as a transient, rate-limited error
    assert_eq!(
        error,
        PimError::Transport(TransportError::RateLimited {
            retry_after: Some(Duration::from_secs(60))
        })
    );
    assert!(error.is_transient());
    assert!(started.elapsed() < SECOND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_pim_that_stays_down_fails_by_the_deadline_never_after() {
    // GIVEN a PIM answering 503 to everything
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    client.product(&known[0], within(5 * SECOND)).await.expect("warm");
    server.down();
    let started = Instant::now();
    // WHEN a call is made with 1.5 s to go
    let error = client
        .product(&known[0], within(Duration::from_millis(1500)))
        .await
        .expect_err("down");
    // THEN it gave up as unavailable after several attempts, within the 1.5 s
    assert!(
        matches!(&error, PimError::Transport(TransportError::Unavailable { detail }) if detail.contains("503")),
        "{error:?}"
    );
    assert!(server.counts().faults >= 3, "{:?}", server.counts());
    assert!(
        started.elapsed() <= Duration::from_millis(1600),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_never_has_more_calls_in_flight_than_its_limit() {
    // GIVEN a PIM taking 50 ms per call, and a client allowed Akeneo's 4
    let known = uuids(24);
    let config = Config {
        latency: Duration::from_millis(50),
        ..Config::default()
    };
    let server = PimServer::start(config, &refs(&known), &[]).await;
    let client = client(&server, pim::CONCURRENT_LIMIT);
    // WHEN 24 reads are started at once
    let reads = join_all(known.iter().map(|uuid| client.product(uuid, within(10 * SECOND)))).await;
    // THEN all succeed, 4 in flight at most, and the PIM never had to refuse one
    assert!(reads.iter().all(|r| matches!(r, Ok(Some(_)))));
    let counts = server.counts();
    assert_eq!(counts.max_in_flight, 4, "{counts:?}");
    assert_eq!(counts.over_limit, 0);
}

#[tokio::test]
async fn a_client_allowed_more_than_akeneo_allows_is_answered_429_and_recovers() {
    // GIVEN a client misconfigured to 8 calls in flight, against the PIM's 4
    let known = uuids(16);
    let config = Config {
        latency: Duration::from_millis(100),
        ..Config::default()
    };
    let server = PimServer::start(config, &refs(&known), &[]).await;
    let client = client(&server, 8);
    // WHEN 16 reads are started at once
    let reads = join_all(known.iter().map(|uuid| client.product(uuid, within(10 * SECOND)))).await;
    // THEN the PIM refused some with 429, and each came back after Retry-After
    assert!(reads.iter().all(|r| matches!(r, Ok(Some(_)))), "{reads:?}");
    assert!(server.counts().over_limit > 0, "{:?}", server.counts());
}

#[tokio::test]
async fn clients_of_one_connection_share_its_limit_and_its_token() {
    // GIVEN two clients built separately for one connection, allowed 2 calls in flight
    let known = uuids(10);
    let config = Config {
        latency: Duration::from_millis(50),
        ..Config::default()
    };
    let server = PimServer::start(config, &refs(&known), &[]).await;
    let (first, second) = (client(&server, 2), client(&server, 2));
    // WHEN both read ten products at once
    let reads = join_all(known.iter().flat_map(|uuid| {
        [
            first.product(uuid, within(10 * SECOND)),
            second.product(uuid, within(10 * SECOND)),
        ]
    }))
    .await;
    // THEN there were never more than 2 calls in flight, and one token served both
    assert!(reads.iter().all(|r| matches!(r, Ok(Some(_)))));
    let counts = server.counts();
    assert_eq!(counts.max_in_flight, 2, "{counts:?}");
    assert_eq!(counts.password_grants, 1);
}

#[tokio::test]
async fn a_product_is_written_with_patch_and_invalid_writes_are_typed_refusals() {
    // GIVEN a product the PIM knows
    let known = uuids(1);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    let changes = json!({"values": {"erp_status": [{"locale": null, "scope": null, "data": "synced"}]}});
    // WHEN a value is written, and then a body that is not an object
    client
        .patch_product(&known[0], &changes, within(5 * SECOND))
        .await
        .expect("written");
    let refused = client
        .patch_product(&known[0], &json!(["not", "an", "object"]), within(5 * SECOND))
        .await;
    // THEN the PIM has the value, and the bad write is a 400 refusal with the PIM's message
    let product = server.product_json(&known[0]).expect("product");
    assert_eq!(product["values"]["erp_status"][0]["data"], "synced");
    assert_eq!(
        product["values"]["name"][0]["locale"], "en_US",
        "merged, not replaced"
    );
    assert!(
        matches!(&refused, Err(PimError::Refused { status: 400, message }) if message.contains("Invalid json")),
        "{refused:?}"
    );
}
