//! A real `serve` enriching from a PIM that answers like an attacker or a
//! broken proxy: whatever the PIM answers, the poller goes on, the events it
//! could not enrich are retried (never acknowledged and dropped), they are
//! processed once the PIM is healthy again, and the process's memory stays
//! bounded however long the PIM's answer.

mod support;

#[path = "../../tests/support/hostile_akeneo.rs"]
mod hostile_akeneo;

use std::time::Duration;

use hostile_akeneo::{Api, Behaviour, CLIENT_ID, CLIENT_SECRET, HostileAkeneo, PASSWORD, USERNAME};
use support::Serve;

const SECRET: &str = "hostile-pim-event-platform-secret";

/// What a 128 MB processor can hold; `serve` itself runs in about 20 MB.
const MEMORY_CEILING: u64 = 128 * 1024 * 1024;

fn serve_enriching_from(pim: &HostileAkeneo) -> Serve {
    Serve::start(
        &[
            "--event-platform-secret",
            SECRET,
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
            // Retried events come back within a second, and are never
            // dead-lettered while the PIM misbehaves.
            "--backoff-cap",
            "1",
            "--max-receives",
            "1000",
        ],
        None,
        &[],
    )
}

/// Delivers one Event Platform product event, signed; answers the status.
fn deliver(serve: &Serve, event_id: &str) -> u16 {
    let body = format!(
        r#"{{"specversion":"1.0","id":"{event_id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub-1","time":"2026-12-03T10:00:00Z","data":{{"product":{{"uuid":"uuid-{event_id}"}},"author":{{"identifier":"b238e9f7-fcec-45bd-9431-d43cd624b244","type":"user"}}}}}}"#
    );
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

/// The outcomes `serve` logged for `event_id`'s message, in order.
fn outcomes(serve: &Serve, event_id: &str) -> Vec<String> {
    serve
        .log_lines_with("message processed")
        .iter()
        .filter(|line| line["event_id"] == event_id)
        .filter_map(|line| line["outcome"].as_str().map(str::to_owned))
        .collect()
}

fn wait_for(serve: &Serve, what: &str, within: Duration, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within {within:?}: {what}\noutput:\n{}",
            serve.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends an event while the PIM answers `behaviour`, waits until its message
/// has been retried (or done, if the answer is harmless once bounded), heals
/// the PIM, sends another, and waits until both are done.
fn survive(serve: &Serve, pim: &HostileAkeneo, api: Api, behaviour: Behaviour, name: &str) {
    pim.set(api, behaviour);
    let during = format!("{name}-during");
    assert_eq!(deliver(serve, &during), 200, "{name}");
    wait_for(
        serve,
        &format!("{name}: the event's message handled"),
        Duration::from_secs(30),
        || !outcomes(serve, &during).is_empty(),
    );
    pim.heal();
    let after = format!("{name}-after");
    assert_eq!(deliver(serve, &after), 200, "{name}");
    for event_id in [&during, &after] {
        wait_for(
            serve,
            &format!("{event_id} done"),
            Duration::from_secs(30),
            || outcomes(serve, event_id).last().map(String::as_str) == Some("done"),
        );
    }
}

#[test]
fn whatever_the_pim_answers_the_poller_goes_on_and_every_acknowledged_event_is_processed() {
    // GIVEN serve enriching from a PIM that can turn hostile
    let pim = HostileAkeneo::start();
    let serve = serve_enriching_from(&pim);
    // WHEN, one after another, the PIM answers a token that lives past any clock,
    // a Retry-After past any clock, a redirect to another host, an endless answer
    // and one announcing a gigabyte, each time with an event in flight
    let hostile = [
        (
            Api::Token,
            Behaviour::TokenExpiresIn("18446744073709551615".into()),
            "expires-in",
        ),
        (
            Api::Rest,
            Behaviour::RateLimited("18446744073709551615".into()),
            "retry-after",
        ),
        (
            Api::Rest,
            Behaviour::Redirect {
                status: 302,
                to: "http://127.0.0.1:9/elsewhere".into(),
            },
            "redirect",
        ),
        (Api::Rest, Behaviour::EndlessBody, "endless"),
        (Api::Rest, Behaviour::HugeBody(1 << 30), "huge"),
    ];
    for (api, behaviour, name) in hostile {
        survive(&serve, &pim, api, behaviour, name);
    }
    // THEN every event was processed once the PIM was healthy (above), the
    // hostile answers only retried their events, and nothing was dead-lettered
    for name in ["retry-after", "redirect", "endless", "huge"] {
        let outcomes = outcomes(&serve, &format!("{name}-during"));
        assert_eq!(
            outcomes.first().map(String::as_str),
            Some("retried"),
            "{name}: {outcomes:?}"
        );
    }
    assert!(!serve.output().contains("dead_lettered\""), "{}", serve.output());
    // AND the process never held more than a 128 MB function could
    let peak = serve.peak_resident_bytes();
    eprintln!("serve's peak resident memory: {} MB", peak / (1024 * 1024));
    assert!(peak < MEMORY_CEILING, "peak {peak} bytes");
}
