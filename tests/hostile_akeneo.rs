//! The Akeneo clients (the token, the PIM REST API, the Event Platform's
//! management API) against a server that answers like an attacker or a
//! broken proxy: credentials never reach another host, no number stops the
//! caller, no answer is read past its limit, and no pagination loops.

use std::time::Duration;

use shared::adapters::akeneo::transport::TransportError;
use shared::adapters::akeneo::{
    AuthError, ConnectionSettings, EventPlatformClient, ManagementError, PimClient, PimError, RetryPolicy,
};
use shared::config::Credentials;
use tokio::time::Instant;

use crate::support::hostile_akeneo::{
    Api, Behaviour, CLIENT_ID, CLIENT_SECRET, HostileAkeneo, PASSWORD, USERNAME,
};

const REDIRECTS: [u16; 4] = [301, 302, 307, 308];

fn credentials() -> Credentials {
    Credentials {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
    }
}

/// One attempt per call, so a test's timing is the answer's, not the retries'.
fn settings() -> ConnectionSettings {
    ConnectionSettings {
        max_concurrent_calls: 4,
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    }
}

fn pim(server: &HostileAkeneo) -> PimClient {
    PimClient::new(&server.url, &credentials(), settings()).expect("client")
}

fn management(server: &HostileAkeneo) -> EventPlatformClient {
    EventPlatformClient::new(&server.management_url(), &server.url, &credentials(), settings())
        .expect("client")
}

fn within(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

/// Nothing that identifies the connection reached `other`.
fn assert_nothing_secret_reached(other: &HostileAkeneo) {
    for request in other.requests() {
        let text = request.text();
        for secret in [
            PASSWORD,
            CLIENT_SECRET,
            "hostile-access-",
            "hostile-refresh-",
            "Basic ",
            "Bearer ",
        ] {
            assert!(
                !text.contains(secret),
                "{secret:?} reached the other host:\n{text}"
            );
        }
    }
    assert!(other.requests().is_empty(), "{:?}", other.requests());
}

#[tokio::test]
async fn a_token_endpoint_that_redirects_elsewhere_gets_no_password_sent_there() {
    for status in REDIRECTS {
        // GIVEN a PIM whose token endpoint redirects to another host with this status
        let (pim_server, other) = (HostileAkeneo::start(), HostileAkeneo::start());
        pim_server.set(
            Api::Token,
            Behaviour::Redirect {
                status,
                to: format!("{}/collect", other.url),
            },
        );
        // WHEN a token is asked for
        let error = pim(&pim_server)
            .tokens()
            .access_token(within(10))
            .await
            .expect_err("no token");
        // THEN the call fails as a redirect not followed, and the other host received nothing
        assert!(
            matches!(&error, AuthError::Transport(TransportError::Redirected { status: s, .. }) if *s == status),
            "{status}: {error}"
        );
        assert_nothing_secret_reached(&other);
    }
}

#[tokio::test]
async fn a_refresh_that_redirects_elsewhere_gets_no_refresh_token_sent_there() {
    // GIVEN a connection holding a token that lives 1 s, and a token endpoint that then redirects elsewhere
    let (pim_server, other) = (HostileAkeneo::start(), HostileAkeneo::start());
    pim_server.set(Api::Token, Behaviour::TokenExpiresIn("1".into()));
    let client = pim(&pim_server);
    client
        .tokens()
        .access_token(within(10))
        .await
        .expect("first token");
    pim_server.set(
        Api::Token,
        Behaviour::Redirect {
            status: 307,
            to: format!("{}/collect", other.url),
        },
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // WHEN a token is asked for again (the refresh grant, then the password grant)
    let _ = client.tokens().access_token(within(10)).await;
    // THEN neither grant reached the other host
    assert_nothing_secret_reached(&other);
    assert!(pim_server.requests_to("/api/oauth/v1/token") >= 2);
}

#[tokio::test]
async fn a_search_that_redirects_elsewhere_is_an_error_and_the_other_hosts_product_is_never_read() {
    for status in REDIRECTS {
        // GIVEN a PIM whose searches redirect to another host that answers a product
        let (pim_server, other) = (HostileAkeneo::start(), HostileAkeneo::start());
        pim_server.set(
            Api::Rest,
            Behaviour::Redirect {
                status,
                to: format!("{}/api/rest/v1/products-uuid?search=x", other.url),
            },
        );
        // WHEN a product is read
        let read = pim(&pim_server)
            .products_by_uuid(&["p1".to_owned()], within(10))
            .await;
        // THEN the read fails (the message will be retried) and nothing reached the other host
        let error = read.expect_err("no products from elsewhere");
        assert!(error.is_transient(), "{status}: {error}");
        assert!(
            error.to_string().contains(&other.url.replace("http://", "")),
            "{error}"
        );
        assert_nothing_secret_reached(&other);
    }
}

#[tokio::test]
async fn a_management_call_that_redirects_elsewhere_gets_no_pim_token_sent_there() {
    for status in REDIRECTS {
        // GIVEN a management API that redirects every call to another host
        let (akeneo, other) = (HostileAkeneo::start(), HostileAkeneo::start());
        akeneo.set(
            Api::Management,
            Behaviour::Redirect {
                status,
                to: format!("{}/api/v1/subscribers", other.url),
            },
        );
        let client = management(&akeneo);
        // WHEN subscribers are listed and a subscription is created
        let listed = client.subscribers(within(10)).await;
        let created = client
            .create_subscription("sub-1", &serde_json::json!({"events": []}), within(10))
            .await;
        // THEN both fail and X-PIM-TOKEN never reached the other host
        assert!(
            matches!(
                listed,
                Err(ManagementError::Transport(TransportError::Redirected { .. }))
            ),
            "{listed:?}"
        );
        assert!(created.is_err());
        assert_nothing_secret_reached(&other);
    }
}

#[tokio::test]
async fn a_next_page_on_another_host_is_not_followed() {
    // GIVEN a management API whose lists link their next page to another host
    let (akeneo, other) = (HostileAkeneo::start(), HostileAkeneo::start());
    akeneo.set(
        Api::Management,
        Behaviour::NextLink(format!("{}/api/v1/subscribers?page=2", other.url)),
    );
    // WHEN subscribers are listed
    let listed = management(&akeneo).subscribers(within(10)).await;
    // THEN the list fails, naming where the link led, and the other host received nothing
    let error = listed.expect_err("refused");
    assert!(error.to_string().contains("leaves"), "{error}");
    assert_nothing_secret_reached(&other);
}

#[tokio::test]
async fn a_next_page_that_is_the_page_itself_is_read_once() {
    // GIVEN a management API whose subscriber list links to itself
    let akeneo = HostileAkeneo::start();
    akeneo.set(
        Api::Management,
        Behaviour::NextLink(format!("{}/subscribers", akeneo.management_url())),
    );
    // WHEN subscribers are listed
    let listed = management(&akeneo).subscribers(within(10)).await;
    // THEN the list fails at once, after one page
    let error = listed.expect_err("a loop");
    assert!(error.to_string().contains("already read"), "{error}");
    assert_eq!(akeneo.requests_to("/api/v1/subscribers"), 1);
}

#[tokio::test]
async fn a_retry_after_past_any_clock_fails_the_call_at_once_and_the_next_call_works() {
    // GIVEN a PIM answering searches 429 with Retry-After u64::MAX
    let pim_server = HostileAkeneo::start();
    pim_server.set(Api::Rest, Behaviour::RateLimited("18446744073709551615".into()));
    let client = pim(&pim_server);
    let started = std::time::Instant::now();
    // WHEN a product is read
    let error = client
        .products_by_uuid(&["p1".to_owned()], within(10))
        .await
        .expect_err("rate-limited");
    // THEN it fails at once as rate-limited past the deadline (no panic), and once healed the next read works
    assert!(
        matches!(error, PimError::Transport(TransportError::RateLimited { .. })),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    pim_server.heal();
    let found = client
        .products_by_uuid(&["p1".to_owned()], within(10))
        .await
        .expect("read");
    assert!(found.contains_key("p1"));
}

#[tokio::test]
async fn a_token_lifetime_past_any_clock_gives_a_working_token() {
    // GIVEN a token endpoint answering expires_in u64::MAX
    let pim_server = HostileAkeneo::start();
    pim_server.set(
        Api::Token,
        Behaviour::TokenExpiresIn("18446744073709551615".into()),
    );
    // WHEN a product is read with the connection, twice
    let client = pim(&pim_server);
    for _ in 0..2 {
        let found = client
            .products_by_uuid(&["p1".to_owned()], within(10))
            .await
            .expect("read");
        assert!(found.contains_key("p1"));
    }
    // THEN one token served both (no panic on the lifetime)
    assert_eq!(pim_server.requests_to("/api/oauth/v1/token"), 1);
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_limit_as_a_transient_error() {
    // GIVEN a PIM whose search answer never ends
    let pim_server = HostileAkeneo::start();
    pim_server.set(Api::Rest, Behaviour::EndlessBody);
    let started = std::time::Instant::now();
    // WHEN a product is read
    let error = pim(&pim_server)
        .products_by_uuid(&["p1".to_owned()], within(30))
        .await
        .expect_err("too large");
    // THEN it fails as too large, well before the attempt timeout, and counts as transient
    assert!(
        matches!(error, PimError::Transport(TransportError::TooLarge(_))),
        "{error}"
    );
    assert!(error.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_answer_announcing_a_gigabyte_is_refused_before_it_is_read() {
    // GIVEN a management API whose answers announce 1 GB
    let akeneo = HostileAkeneo::start();
    akeneo.set(Api::Management, Behaviour::HugeBody(1 << 30));
    // WHEN subscribers are listed
    let listed = management(&akeneo).subscribers(within(10)).await;
    // THEN the call fails as too large
    assert!(
        matches!(
            listed,
            Err(ManagementError::Transport(TransportError::TooLarge(_)))
        ),
        "{listed:?}"
    );
    // AND a token answer announcing 1 GB fails the same way
    akeneo.set(Api::Token, Behaviour::HugeBody(1 << 30));
    let refused = PimClient::new(&akeneo.url, &credentials(), settings())
        .expect("client")
        .tokens()
        .access_token(within(10))
        .await;
    assert!(
        matches!(refused, Err(AuthError::Transport(TransportError::TooLarge(_)))),
        "{refused:?}"
    );
}
