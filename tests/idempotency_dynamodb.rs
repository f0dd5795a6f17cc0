//! Exactly-once effects against a real DynamoDB API (moto): claims, duplicates,
//! releases, two processors racing, expired claims, the stale guard across
//! batches, and a store that is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use shared::adapters::aws::SdkConfig;
use shared::adapters::aws::dynamodb::DynamoDbIdempotencyStore;
use shared::adapters::aws::sqs::SqsQueue;
use shared::core::message::{EventFields, OutboundMessage};
use shared::core::processor::idempotency::DEFAULT_WINDOW;
use shared::core::processor::{Disposition, Processor, Settings};
use shared::edges::lambda::sqs_event::handle_sqs_event;
use shared::ports::idempotency::{Claim, ClaimOutcome, IdempotencyStore};
use shared::ports::queue::ReceivedMessage;
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use shared::{EventHandler, Outcome, PimEvent, Protocol};
use time::macros::datetime;

use crate::support::function_url::sqs_record;
use crate::support::{moto, wait};

/// Business logic that records what it ran, taking `pause` per event, and
/// asks for a retry of events whose id starts with `retry-`. Clones share the
/// record, as two Lambda instances share one downstream.
#[derive(Clone, Default)]
struct Recorder {
    ran: Arc<Mutex<Vec<String>>>,
    pause: Duration,
}

impl Recorder {
    fn ran(&self) -> Vec<String> {
        self.ran.lock().expect("lock").clone()
    }
}

impl EventHandler for Recorder {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let id = event.id.clone().unwrap_or_default();
        self.ran.lock().expect("lock").push(id.clone());
        tokio::time::sleep(self.pause).await;
        if id.starts_with("retry-") {
            Outcome::Retry("ERP answered 503".into())
        } else {
            Outcome::Done
        }
    }
}

type TestProcessor = Processor<Recorder, MemoryQueue, MemoryVisibility>;

/// A fresh table and its store.
async fn store(name: &str) -> Arc<DynamoDbIdempotencyStore> {
    let table = moto::create_idempotency_table(name).await;
    Arc::new(DynamoDbIdempotencyStore::new(&moto::sdk().await, table))
}

/// A processor over `store`, with its own business logic.
fn processor(store: &Arc<DynamoDbIdempotencyStore>, logic: &Recorder) -> TestProcessor {
    Processor::new(
        logic.clone(),
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
    .with_idempotency(Arc::clone(store) as Arc<dyn IdempotencyStore>, DEFAULT_WINDOW)
}

/// One event about product `uuid` as the receiver queues it.
fn message(protocol: Protocol, kind: &str, id: &str, uuid: &str, occurred_at: &str) -> ReceivedMessage {
    let raw = match protocol {
        Protocol::EventsApi => format!(r#"{{"data":{{"resource":{{"uuid":"{uuid}"}}}}}}"#),
        Protocol::EventPlatform => format!(r#"{{"data":{{"product":{{"uuid":"{uuid}"}}}}}}"#),
        Protocol::CatchUp => format!(r#"{{"catch_up":{{"run":"r"}},"product":{{"uuid":"{uuid}"}}}}"#),
    };
    let fields = EventFields {
        id: Some(id.into()),
        kind: Some(kind.into()),
        occurred_at: Some(occurred_at.into()),
        source: None,
    };
    let outbound = OutboundMessage::build(protocol, &raw, &fields, "2026-11-23T04:00:00.000Z");
    ReceivedMessage {
        message_id: format!("m-{id}-{occurred_at}"),
        receipt_handle: Some(format!("rh-{id}")),
        body: Some(outbound.body),
        receive_count: 1,
        attributes: HashMap::new(),
    }
}

/// An Event Platform `product.updated` with this id.
fn event(id: &str) -> ReceivedMessage {
    message(
        Protocol::EventPlatform,
        "com.akeneo.pim.v1.product.updated",
        id,
        &format!("u-{id}"),
        "2024-01-01T10:00:00Z",
    )
}

/// An Events API `product.updated`: the whole product, at `occurred_at`.
fn snapshot(id: &str, uuid: &str, occurred_at: &str) -> ReceivedMessage {
    message(Protocol::EventsApi, "product.updated", id, uuid, occurred_at)
}

fn names(dispositions: &[Disposition]) -> Vec<&'static str> {
    dispositions.iter().map(Disposition::name).collect()
}

fn claim<'a>(key: &'a str, owner: &'a str, now: SystemTime, until: SystemTime) -> Claim<'a> {
    Claim {
        key,
        owner,
        now,
        until,
    }
}

/// The raw item under `key`.
async fn item(store: &DynamoDbIdempotencyStore, key: &str) -> Option<HashMap<String, AttributeValue>> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("k", AttributeValue::S(key.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item[name].as_n().expect("a number").parse().expect("whole")
}

fn epoch_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

#[tokio::test]
async fn a_handled_event_delivered_again_does_not_run_again() {
    // GIVEN an event handled once
    let store = store("idem-duplicate").await;
    let logic = Recorder::default();
    let processor = processor(&store, &logic);
    assert_eq!(names(&processor.process_batch(&[event("e-1")]).await), ["done"]);
    // WHEN it is delivered again, in another batch
    let again = processor.process_batch(&[event("e-1")]).await;
    // THEN the message is done and the business logic ran it once
    assert_eq!(names(&again), ["done"]);
    assert_eq!(logic.ran(), ["e-1"]);
}

#[tokio::test]
async fn a_completed_event_is_kept_for_the_window_under_its_akeneo_id() {
    // GIVEN a processor keeping events 14 days
    let store = store("idem-window").await;
    let logic = Recorder::default();
    // WHEN it handles an Event Platform event
    let before = SystemTime::now();
    processor(&store, &logic).process_batch(&[event("e-1")]).await;
    // THEN the table holds it as completed under its namespaced id, with a TTL 14 days on
    let item = item(&store, "event-platform#e-1").await.expect("an item");
    assert_eq!(item["state"].as_s().map(String::as_str), Ok("completed"));
    let expires_at = number(&item, "expires_at");
    let window = epoch_secs(before + DEFAULT_WINDOW);
    assert!(
        (window..window + 60).contains(&expires_at),
        "expires_at {expires_at}, window ends {window}"
    );
}

#[tokio::test]
async fn an_event_in_progress_elsewhere_is_retried_without_running() {
    // GIVEN another invocation holding e-1 for another minute
    let store = store("idem-in-progress").await;
    let now = SystemTime::now();
    let held = claim("event-platform#e-1", "other", now, now + Duration::from_secs(60));
    assert_eq!(store.claim(held).await, Ok(ClaimOutcome::Claimed));
    let logic = Recorder::default();
    // WHEN e-1 arrives here
    let dispositions = processor(&store, &logic).process_batch(&[event("e-1")]).await;
    // THEN it is retried later, not run now
    assert_eq!(names(&dispositions), ["retried"]);
    assert!(logic.ran().is_empty());
}

#[tokio::test]
async fn an_expired_claim_of_a_crashed_invocation_is_taken_over() {
    // GIVEN a claim whose invocation crashed and whose deadline passed (its item still there)
    let store = store("idem-expired").await;
    let long_ago = SystemTime::now() - Duration::from_secs(120);
    let crashed = claim(
        "event-platform#e-1",
        "crashed",
        long_ago,
        long_ago + Duration::from_secs(60),
    );
    assert_eq!(store.claim(crashed).await, Ok(ClaimOutcome::Claimed));
    assert!(item(&store, "event-platform#e-1").await.is_some());
    let logic = Recorder::default();
    // WHEN the event comes back
    let dispositions = processor(&store, &logic).process_batch(&[event("e-1")]).await;
    // THEN it runs
    assert_eq!(names(&dispositions), ["done"]);
    assert_eq!(logic.ran(), ["e-1"]);
}

#[tokio::test]
async fn a_completed_event_past_its_window_counts_as_absent_before_ttl_deletes_it() {
    // GIVEN an event completed with a window that has ended (TTL has not deleted it yet)
    let store = store("idem-ttl").await;
    let now = SystemTime::now();
    store
        .complete("event-platform#e-1", now - Duration::from_secs(1))
        .await
        .expect("complete");
    // WHEN it is claimed
    let answer = store
        .claim(claim(
            "event-platform#e-1",
            "me",
            now,
            now + Duration::from_secs(60),
        ))
        .await;
    // THEN it is claimed, as if absent
    assert_eq!(answer, Ok(ClaimOutcome::Claimed));
}

#[tokio::test]
async fn two_processors_racing_on_one_event_run_it_exactly_once() {
    // GIVEN two processors (two Lambda instances) on one table, with slow business logic
    let store_a = store("idem-race").await;
    let store_b = Arc::new(DynamoDbIdempotencyStore::new(&moto::sdk().await, store_a.table()));
    let logic = Recorder {
        pause: Duration::from_millis(300),
        ..Recorder::default()
    };
    let (a, b) = (processor(&store_a, &logic), processor(&store_b, &logic));
    // WHEN both get the same event at the same time (the receiver queued it twice)
    let (batch_a, batch_b) = ([event("e-1")], [event("e-1")]);
    let (from_a, from_b) = tokio::join!(a.process_batch(&batch_a), b.process_batch(&batch_b));
    // THEN the business logic ran it once; the other message is retried ...
    assert_eq!(logic.ran(), ["e-1"]);
    let mut outcomes = [names(&from_a)[0], names(&from_b)[0]];
    outcomes.sort();
    assert_eq!(outcomes, ["done", "retried"]);
    // ... and when the retry comes back, it is a duplicate
    let retried = if names(&from_a)[0] == "retried" { &a } else { &b };
    assert_eq!(names(&retried.process_batch(&[event("e-1")]).await), ["done"]);
    assert_eq!(logic.ran(), ["e-1"]);
}

#[tokio::test]
async fn a_retried_event_releases_its_claim_and_runs_on_its_next_delivery() {
    // GIVEN business logic that asks to retry an event
    let store = store("idem-release").await;
    let logic = Recorder::default();
    let processor = processor(&store, &logic);
    assert_eq!(
        names(&processor.process_batch(&[event("retry-1")]).await),
        ["retried"]
    );
    // WHEN the message comes back
    processor.process_batch(&[event("retry-1")]).await;
    // THEN the claim was released: it runs again, and nothing is left in the table
    assert_eq!(logic.ran(), ["retry-1", "retry-1"]);
    assert!(item(&store, "event-platform#retry-1").await.is_none());
}

#[tokio::test]
async fn a_claim_taken_over_is_not_released_by_its_first_holder() {
    // GIVEN a claim by A that expired and was taken over by B
    let store = store("idem-owner").await;
    let now = SystemTime::now();
    let key = "event-platform#e-1";
    let expired = claim(
        key,
        "A",
        now - Duration::from_secs(120),
        now - Duration::from_secs(60),
    );
    store.claim(expired).await.expect("A claims");
    let b = claim(key, "B", now, now + Duration::from_secs(60));
    assert_eq!(store.claim(b).await, Ok(ClaimOutcome::Claimed));
    // WHEN A, late, releases its claim
    store.release(key, "A").await.expect("release answers");
    // THEN B still holds it
    let c = claim(key, "C", now, now + Duration::from_secs(60));
    assert!(matches!(
        store.claim(c).await,
        Ok(ClaimOutcome::InProgress { .. })
    ));
}

#[tokio::test]
async fn a_stale_update_is_skipped_across_two_batches() {
    // GIVEN product u1's snapshot of 10:00:05 handled in a first batch
    let store = store("idem-stale").await;
    let logic = Recorder::default();
    let processor = processor(&store, &logic);
    processor
        .process_batch(&[snapshot("new", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // WHEN its snapshot of 10:00:01 arrives in a second batch
    let late = processor
        .process_batch(&[snapshot("old", "u1", "2024-01-01T10:00:01+00:00")])
        .await;
    // THEN it is done without running
    assert_eq!(names(&late), ["done"]);
    assert_eq!(logic.ran(), ["new"]);
}

#[tokio::test]
async fn equal_timestamps_are_not_stale() {
    // GIVEN u1's snapshot of 10:00:05 handled
    let store = store("idem-equal").await;
    let logic = Recorder::default();
    let processor = processor(&store, &logic);
    processor
        .process_batch(&[snapshot("first", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // WHEN another snapshot of the same second arrives (the Events API counts in seconds)
    processor
        .process_batch(&[snapshot("second", "u1", "2024-01-01T10:00:05+00:00")])
        .await;
    // THEN it runs
    assert_eq!(logic.ran(), ["first", "second"]);
}

#[tokio::test]
async fn an_entity_time_never_moves_backwards_and_an_expired_one_is_forgotten() {
    // GIVEN u1 recorded at 10:00:05
    let store = store("idem-entity").await;
    let now = SystemTime::now();
    let keep = now + Duration::from_secs(60);
    let entity = "entity#product/uuid/u1";
    let (newer, older) = (
        datetime!(2024-01-01 10:00:05 UTC),
        datetime!(2024-01-01 10:00:01 UTC),
    );
    store
        .record_handled(entity, newer, now, keep)
        .await
        .expect("record");
    // WHEN an older time is recorded, and the records are read
    store
        .record_handled(entity, older, now, keep)
        .await
        .expect("record");
    let entities = [entity.to_owned(), "entity#product/uuid/unknown".to_owned()];
    let read = store.last_handled(&entities, now).await.expect("read");
    // THEN the newer time stands, and unknown entities are absent
    assert_eq!(read, HashMap::from([(entity.to_owned(), newer)]));
    // ... and past its retention the record counts as absent
    let later = store
        .last_handled(&entities, keep + Duration::from_secs(1))
        .await
        .expect("read");
    assert!(later.is_empty());
}

/// A processor on moto's SQS queues whose idempotency store is `store`.
fn sqs_processor(
    logic: &Recorder,
    queues: (&str, &str),
    store: DynamoDbIdempotencyStore,
    sdk: &SdkConfig,
) -> Processor<Recorder, SqsQueue, SqsQueue> {
    let (queue_url, dlq_url) = queues;
    Processor::new(
        logic.clone(),
        SqsQueue::new(sdk, dlq_url),
        SqsQueue::new(sdk, queue_url),
        Settings::default(),
    )
    .with_idempotency(Arc::new(store), DEFAULT_WINDOW)
}

/// Receives what is visible and hands it to `processor` as Lambda would;
/// deletes what it did not report failed; answers how many failed.
async fn lambda_round(
    processor: &Processor<Recorder, SqsQueue, SqsQueue>,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> usize {
    let received = moto::receive(sqs, queue_url, 0).await;
    let mut batch = SqsEvent::default();
    batch.records = received.iter().map(sqs_record).collect();
    let response = handle_sqs_event(processor, batch).await.expect("a response");
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    for message in &received {
        if !failed.contains(&message.message_id.as_deref().unwrap_or_default()) {
            let receipt = message.receipt_handle.clone().expect("handle");
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .send()
                .await
                .expect("delete");
        }
    }
    failed.len()
}

#[tokio::test]
async fn with_dynamodb_down_the_message_is_retried_and_nothing_is_lost() {
    // GIVEN an event on an SQS queue, and a processor whose DynamoDB endpoint refuses connections
    let sdk = moto::sdk().await;
    let sqs = moto::sqs().await;
    let (queue_url, dlq_url) = moto::create_queue_with_dlq(&sqs, "idem-down", 5).await;
    let queues = (queue_url.as_str(), dlq_url.as_str());
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body(event("e-1").body.expect("body"))
        .send()
        .await
        .expect("send");
    let table = moto::create_idempotency_table("idem-down").await;
    // Set on the client: the environment's AWS_ENDPOINT_URL would win over the SDK config's.
    let down = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(moto::refused_endpoint())
        .build();
    let logic = Recorder::default();
    let unreachable =
        DynamoDbIdempotencyStore::with_client(aws_sdk_dynamodb::Client::from_conf(down), &table);
    let cut_off = sqs_processor(&logic, queues, unreachable, &sdk);
    // WHEN the batch is handed over as Lambda would
    let failed = lambda_round(&cut_off, &sqs, &queue_url).await;
    // THEN the message is reported failed, the business logic did not run, and the event is still queued
    assert_eq!(failed, 1);
    assert!(logic.ran().is_empty());
    let (visible, hidden) = moto::queue_counts(&sqs, &queue_url).await;
    assert_eq!(visible + hidden, 1, "the event is still on the queue");
    // ... and once DynamoDB answers again, the retry runs it once
    let healthy = sqs_processor(&logic, queues, DynamoDbIdempotencyStore::new(&sdk, &table), &sdk);
    wait::until(
        "the retry comes back and runs",
        Duration::from_secs(30),
        || async {
            lambda_round(&healthy, &sqs, &queue_url).await;
            (!logic.ran().is_empty()).then_some(())
        },
    )
    .await;
    assert_eq!(logic.ran(), ["e-1"]);
    assert_eq!(moto::queue_counts(&sqs, &queue_url).await, (0, 0));
}
