//! The processor with enrichment on, against the PIM test server: one token
//! for a stream of batches, one search per batch, never more than 4 calls in
//! flight, 429 and 5xx recovered within the budget, a PIM that stays down
//! retried without running a handler, own events skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use shared::adapters::akeneo::{ConnectionSettings, PimClient, RetryPolicy};
use shared::config::Credentials;
use shared::core::processor::own_events::OwnAuthors;
use shared::core::processor::{Disposition, Processor, Settings};
use shared::ports::pim::PimReader;
use shared::ports::queue::ReceivedMessage;
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use shared::{Current, EventHandler, Outcome, PimEvent};
use tokio::time::Instant;

use crate::support::events::{message, product_updated};
use crate::support::pim::{self, Config, Fault, PimServer};

const SECOND: Duration = Duration::from_secs(1);

fn credentials() -> Credentials {
    Credentials {
        client_id: pim::CLIENT_ID.into(),
        client_secret: pim::CLIENT_SECRET.into(),
        username: pim::USERNAME.into(),
        password: pim::PASSWORD.into(),
    }
}

fn client(server: &PimServer, max_concurrent_calls: usize) -> PimClient {
    let settings = ConnectionSettings {
        max_concurrent_calls,
        retry: RetryPolicy {
            first_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
    };
    PimClient::new(&server.url, &credentials(), settings).expect("client")
}

/// Business logic that records what each event was given and, when it has a
/// client, writes the product back to the PIM as an integrator's would.
#[derive(Default)]
struct Logic {
    seen: Mutex<HashMap<String, Option<String>>>,
    writes_with: Option<PimClient>,
}

impl Logic {
    /// Event id -> the `uuid` or `code` of what it was given, or "gone"; None
    /// when given nothing.
    fn seen(&self) -> HashMap<String, Option<String>> {
        self.seen.lock().expect("lock").clone()
    }
}

impl EventHandler for Logic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let given = event.current.as_ref().map(|current| match current {
            Current::Found(raw) => {
                let json: Value = serde_json::from_str(raw.get()).expect("json");
                json.get("uuid")
                    .or(json.get("code"))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            }
            Current::Gone => "gone".to_owned(),
        });
        let id = event.id.clone().unwrap_or_default();
        self.seen.lock().expect("lock").insert(id, given);
        if let (Some(pim), Some(uuid)) = (&self.writes_with, event.keys.uuid.as_deref()) {
            let changes =
                json!({"values": {"erp_status": [{"locale": null, "scope": null, "data": "synced"}]}});
            if let Err(error) = pim
                .patch_product(uuid, &changes, Instant::now() + 10 * SECOND)
                .await
            {
                return Outcome::Retry(error.to_string());
            }
        }
        Outcome::Done
    }
}

/// The connection's user, as the Event Platform names the author of the
/// events the connection causes.
const CONNECTION_USER_UUID: &str = "7d3c0e4a-2b1f-4c5d-8e9f-0a1b2c3d4e5f";

type EnrichingProcessor = Processor<Logic, MemoryQueue, MemoryVisibility>;

fn processor(logic: Logic, client: &PimClient, budget: Duration) -> EnrichingProcessor {
    Processor::new(
        logic,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
    .with_pim(Arc::new(client.clone()) as Arc<dyn PimReader>, budget)
    .with_own_authors(OwnAuthors::connection(
        client.username(),
        client.client_id(),
        Some(CONNECTION_USER_UUID),
    ))
}

fn uuids(batch: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("00000000-0000-4000-8000-{batch:06}{i:06}"))
        .collect()
}

fn refs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

fn batch_of(uuids: &[String]) -> Vec<ReceivedMessage> {
    uuids
        .iter()
        .map(|uuid| product_updated(&format!("event-{uuid}"), uuid))
        .collect()
}

fn all_done(dispositions: &[Disposition]) -> bool {
    dispositions.iter().all(|d| *d == Disposition::Done)
}

#[tokio::test]
async fn a_batch_of_ten_product_events_is_one_search_and_each_event_gets_its_product() {
    // GIVEN a PIM that knows nine products, and ten events: two for one product, one for an unknown one
    let known = uuids(0, 9);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    let mut batch = batch_of(&known[..8]);
    batch.push(product_updated("again", &known[0]));
    batch.push(product_updated("unknown", "ffffffff-0000-4000-8000-000000000000"));
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN one search named the nine distinct uuids, no product was read alone,
    // and each event was handled with its product, or as gone
    assert!(all_done(&dispositions), "{dispositions:?}");
    let counts = server.counts();
    assert_eq!((counts.searches, counts.gets), (1, 0));
    assert_eq!(server.searches()[0].values.len(), 9);
    let seen = processor.handler().seen();
    for uuid in &known[..8] {
        assert_eq!(seen[&format!("event-{uuid}")].as_deref(), Some(uuid.as_str()));
    }
    assert_eq!(seen["again"].as_deref(), Some(known[0].as_str()));
    assert_eq!(seen["unknown"].as_deref(), Some("gone"));
}

#[tokio::test]
async fn a_stream_of_batches_is_served_by_one_token() {
    // GIVEN a PIM whose tokens live an hour, and five batches of ten product events
    let batches: Vec<Vec<String>> = (0..5).map(|b| uuids(b, 10)).collect();
    let all: Vec<String> = batches.concat();
    let server = PimServer::start(Config::default(), &refs(&all), &[]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    // WHEN the batches are processed one after another
    for uuids in &batches {
        assert!(all_done(&processor.process_batch(&batch_of(uuids)).await));
    }
    // THEN one token call and one search per batch served them all
    let counts = server.counts();
    assert_eq!((counts.password_grants, counts.refresh_grants), (1, 0));
    assert_eq!(counts.searches, 5);
    assert_eq!(processor.handler().seen().len(), 50);
}

#[tokio::test]
async fn enrichment_and_business_logic_writes_never_have_more_than_4_calls_in_flight() {
    // GIVEN a PIM taking 20 ms per call, a processor running 10 events at once whose
    // logic writes each product back, both through the connection allowed Akeneo's 4
    let known = uuids(0, 30);
    let config = Config {
        latency: Duration::from_millis(20),
        ..Config::default()
    };
    let server = PimServer::start(config, &refs(&known), &[]).await;
    let logic = Logic {
        writes_with: Some(client(&server, pim::CONCURRENT_LIMIT)),
        ..Logic::default()
    };
    let processor = processor(logic, &client(&server, pim::CONCURRENT_LIMIT), 10 * SECOND);
    // WHEN a batch of thirty product events is processed
    let dispositions = processor.process_batch(&batch_of(&known)).await;
    // THEN every event was read and written, with 4 calls in flight at most and no 429
    assert!(all_done(&dispositions), "{dispositions:?}");
    let counts = server.counts();
    assert_eq!(counts.patches, 30);
    assert_eq!(counts.max_in_flight, pim::CONCURRENT_LIMIT, "{counts:?}");
    assert_eq!(counts.over_limit, 0);
}

#[tokio::test]
async fn a_429_and_server_errors_during_enrichment_are_recovered_within_the_budget() {
    // GIVEN a PIM whose next calls answer 429 (wait 1 s), then 503, then 500
    let known = uuids(0, 10);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    server.fail_next(&[Fault::RateLimited(1), Fault::Status(503), Fault::Status(500)]);
    let started = Instant::now();
    // WHEN a batch of ten product events is processed
    let dispositions = processor.process_batch(&batch_of(&known)).await;
    // THEN every event was handled with its product, well within the 10 s budget
    assert!(all_done(&dispositions), "{dispositions:?}");
    assert!(processor.handler().seen().values().all(Option::is_some));
    assert_eq!(server.counts().faults, 3);
    assert!(started.elapsed() < 5 * SECOND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn with_the_pim_down_the_batch_is_retried_by_its_budget_and_no_handler_runs() {
    // GIVEN a PIM answering 503 to everything, and a budget of 2 s
    let known = uuids(0, 10);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    server.down();
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 2 * SECOND);
    let started = Instant::now();
    // WHEN a batch of ten product events and a category event is processed
    let mut batch = batch_of(&known);
    batch.push(message("category", "category.created", "shoes", "julia"));
    let dispositions = processor.process_batch(&batch).await;
    // THEN the ten are retried, none reached the business logic, and the category event did
    for disposition in &dispositions[..10] {
        assert!(
            matches!(disposition, Disposition::Retried { reason, .. } if reason.contains("503")),
            "{disposition:?}"
        );
    }
    assert_eq!(dispositions[10], Disposition::Done);
    assert_eq!(
        processor.handler().seen().keys().collect::<Vec<_>>(),
        ["category"]
    );
    assert!(server.counts().faults >= 2, "retried: {:?}", server.counts());
    assert!(
        started.elapsed() < 2 * SECOND + Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_pim_rate_limiting_past_the_budget_retries_the_batch_without_waiting() {
    // GIVEN a PIM asking to wait 60 s, and a budget of 10 s
    let known = uuids(0, 3);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    server.fail_next(&[Fault::RateLimited(60)]);
    let started = Instant::now();
    // WHEN a batch is processed
    let dispositions = processor.process_batch(&batch_of(&known)).await;
    // THEN it is retried at once, with no handler run
    assert!(
        dispositions
            .iter()
            .all(|d| matches!(d, Disposition::Retried { reason, .. } if reason.contains("429"))),
        "{dispositions:?}"
    );
    assert!(processor.handler().seen().is_empty());
    assert!(started.elapsed() < SECOND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn events_the_connection_caused_are_skipped_and_never_read() {
    // GIVEN events written by the relay's own connection (relay_1234) and one by julia
    let known = uuids(0, 3);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    let batch = [
        message("own-1", "product.updated", &known[0], CONNECTION_USER_UUID),
        message("own-2", "product.created", &known[1], CONNECTION_USER_UUID),
        product_updated("julias", &known[2]),
    ];
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN all are done, only julia's reached the logic, and only her product was read
    assert!(all_done(&dispositions));
    assert_eq!(processor.handler().seen().keys().collect::<Vec<_>>(), ["julias"]);
    assert_eq!(server.searches()[0].values, [known[2].clone()]);
}

#[tokio::test]
async fn a_batch_of_own_events_costs_no_call_at_all() {
    // GIVEN a batch made only of the connection's own events
    let known = uuids(0, 2);
    let server = PimServer::start(Config::default(), &refs(&known), &[]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    let batch: Vec<_> = known
        .iter()
        .map(|uuid| {
            message(
                &format!("own-{uuid}"),
                "product.updated",
                uuid,
                CONNECTION_USER_UUID,
            )
        })
        .collect();
    // WHEN it is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN it is done without a token or a search
    assert!(all_done(&dispositions));
    assert_eq!(server.counts(), pim::Counts::default());
}

#[tokio::test]
async fn product_model_events_get_their_product_model_from_one_search() {
    // GIVEN a PIM with the product model jacket, and events for jacket and an unknown model
    let server = PimServer::start(Config::default(), &[], &["jacket"]).await;
    let client = client(&server, 1);
    let processor = processor(Logic::default(), &client, 10 * SECOND);
    let batch = [
        message("m1", "product-model.updated", "jacket", "julia"),
        message("m2", "product-model.created", "boots", "julia"),
    ];
    // WHEN the batch is processed
    processor.process_batch(&batch).await;
    // THEN one product model search served both
    assert_eq!(server.counts().searches, 1);
    let seen = processor.handler().seen();
    assert_eq!(seen["m1"].as_deref(), Some("jacket"));
    assert_eq!(seen["m2"].as_deref(), Some("gone"));
}
