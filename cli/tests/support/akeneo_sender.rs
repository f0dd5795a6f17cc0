//! Senders that behave like Akeneo: the Events API posts batches of 1 to 10
//! events, gives up after 500 ms and never retries; the Event Platform posts
//! one event at a time and retries it on any non-2xx or timeout (after a short
//! pause here, minutes in real life) until it is acknowledged.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shared::core::signature::{event_platform, events_api};

pub const EVENTS_API_SECRET: &str = "soak-events-api-secret";
pub const EVENT_PLATFORM_SECRET: &str = "soak-event-platform-secret";
const EVENTS_API_DEADLINE: Duration = Duration::from_millis(500);
const EVENT_PLATFORM_DEADLINE: Duration = Duration::from_secs(5);
const EVENT_PLATFORM_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Between requests of one sender: a few events a second, what moto (whose
/// receive slows down as its queue grows, half a second at a few hundred
/// messages) drains through the faults with one poller.
const EVENTS_API_PAUSE: Duration = Duration::from_millis(1_000);
const EVENT_PLATFORM_PAUSE: Duration = Duration::from_millis(400);

/// What the senders saw.
#[derive(Debug, Default)]
pub struct Sent {
    /// Event ids whose request got a 2xx.
    pub acknowledged: BTreeSet<String>,
    /// Event ids the Events API gave up on (a non-2xx or a timeout: Akeneo
    /// drops them, the relay never said it had them).
    pub refused: BTreeSet<String>,
    pub requests: u64,
    pub non_2xx: u64,
    /// Answers after the protocol's deadline, or none before it.
    pub deadline_misses: u64,
    pub slowest: Duration,
}

/// Sends Events API batches until `until`; `sender` keeps ids apart.
pub async fn events_api(base: &str, sender: usize, until: Instant, sent: &Mutex<Sent>) {
    let client = reqwest::Client::builder()
        .timeout(EVENTS_API_DEADLINE)
        .build()
        .expect("client");
    let mut n = 0usize;
    while Instant::now() < until {
        let count = 1 + (n * 7 + sender) % 10;
        let ids: Vec<String> = (0..count).map(|i| format!("ea-{sender}-{n}-{i}")).collect();
        n += 1;
        let events: Vec<String> = ids.iter().map(|id| events_api_event(id)).collect();
        let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut request = client.post(format!("{base}/events-api")).body(body.clone());
        for (name, value) in events_api::headers(EVENTS_API_SECRET, now, body.as_bytes()) {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let outcome = request.send().await;
        let took = started.elapsed();
        let status = outcome.map(|reply| reply.status());
        record_events_api(&mut sent.lock().expect("lock"), ids, status, took);
        tokio::time::sleep(EVENTS_API_PAUSE).await;
    }
}

/// Sends Event Platform events until `until`, each until acknowledged.
pub async fn event_platform(base: &str, sender: usize, until: Instant, sent: &Mutex<Sent>) {
    let client = reqwest::Client::builder()
        .timeout(EVENT_PLATFORM_DEADLINE)
        .build()
        .expect("client");
    let mut n = 0usize;
    while Instant::now() < until {
        let id = format!("ep-{sender}-{n}");
        n += 1;
        tokio::time::sleep(EVENT_PLATFORM_PAUSE).await;
        let body = event_platform_event(&id);
        loop {
            let mut request = client.post(format!("{base}/event-platform")).body(body.clone());
            for (name, value) in event_platform::headers(EVENT_PLATFORM_SECRET, None, body.as_bytes()) {
                request = request.header(name, value);
            }
            let started = Instant::now();
            let outcome = request.send().await;
            let took = started.elapsed();
            let status = outcome.map(|reply| reply.status());
            if record_event_platform(&mut sent.lock().expect("lock"), &id, status, took) {
                break;
            }
            tokio::time::sleep(EVENT_PLATFORM_RETRY_PAUSE).await;
        }
    }
}

type Status = Result<reqwest::StatusCode, reqwest::Error>;

fn record_events_api(sent: &mut Sent, ids: Vec<String>, status: Status, took: Duration) {
    sent.requests += 1;
    sent.slowest = sent.slowest.max(took);
    match status {
        Ok(status) if status.is_success() && took <= EVENTS_API_DEADLINE => sent.acknowledged.extend(ids),
        Ok(status) => {
            sent.non_2xx += u64::from(!status.is_success());
            sent.deadline_misses += u64::from(took > EVENTS_API_DEADLINE);
            sent.refused.extend(ids);
        }
        Err(_) => {
            sent.deadline_misses += 1;
            sent.refused.extend(ids);
        }
    }
}

/// Answers whether the event is acknowledged (else it is sent again).
fn record_event_platform(sent: &mut Sent, id: &str, status: Status, took: Duration) -> bool {
    sent.requests += 1;
    sent.slowest = sent.slowest.max(took);
    sent.deadline_misses += u64::from(took > EVENT_PLATFORM_DEADLINE || status.is_err());
    let acknowledged = status.is_ok_and(|status| status.is_success());
    if acknowledged {
        sent.acknowledged.insert(id.to_owned());
    } else {
        sent.non_2xx += 1;
    }
    acknowledged
}

/// Each event about its own product, so none is stale against another.
fn events_api_event(id: &str) -> String {
    format!(
        r#"{{"action":"product.updated","event_id":"{id}","event_datetime":"2026-11-24T00:00:00+00:00","author":"soak","author_type":"api","pim_source":"https:\/\/soak.example","data":{{"resource":{{"uuid":"{id}","identifier":"sku-{id}"}}}}}}"#
    )
}

fn event_platform_event(id: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"akeneo-event-platform","subject":"soak","time":"2026-11-24T00:00:00Z","datacontenttype":"application/json","data":{{"product":{{"uuid":"{id}"}},"author":{{"identifier":"soak","type":"api"}}}}}}"#
    )
}
