//! The catch-up against the PIM test server: every product and product model
//! updated in the window queued once, across pages, through 429s and an
//! expired token; a run stopped by a PIM that went down resumed from its
//! checkpoint; overlapping runs and live events beside catch-up events
//! running the business logic once per state of a product.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::adapters::akeneo::{ConnectionSettings, PimClient, RetryPolicy};
use shared::adapters::embedded::EmbeddedIdempotencyStore;
use shared::config::Credentials;
use shared::core::catch_up::{CatchUp, CatchUpEntity, CatchUpError, Checkpoint, Window};
use shared::core::message::{EventFields, OutboundMessage};
use shared::core::processor::{Disposition, Processor, Settings};
use shared::ports::idempotency::IdempotencyStore;
use shared::ports::pim::UpdatedPages;
use shared::ports::queue::ReceivedMessage;
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use shared::{EventHandler, Outcome, PimEvent, Protocol};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::pim::{self, Config, Fault, PimServer};

const WINDOW_START: OffsetDateTime = datetime!(2026-12-01 10:00:00 UTC);
const WINDOW_END: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

fn window() -> Window {
    Window::new(WINDOW_START, WINDOW_END).expect("a window")
}

fn client(server: &PimServer) -> PimClient {
    let credentials = Credentials {
        client_id: pim::CLIENT_ID.into(),
        client_secret: pim::CLIENT_SECRET.into(),
        username: pim::USERNAME.into(),
        password: pim::PASSWORD.into(),
    };
    let settings = ConnectionSettings {
        max_concurrent_calls: pim::CONCURRENT_LIMIT,
        retry: RetryPolicy {
            first_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
    };
    PimClient::new(&server.url, &credentials, settings).expect("client")
}

fn uuid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// `count` products updated `minutes` apart from `first` (RFC 3339 times).
fn products(count: usize, first: OffsetDateTime, step: time::Duration) -> Vec<(String, String)> {
    (0..count)
        .map(|n| (uuid(n), rfc3339(first + step * n as i32)))
        .collect()
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .expect("a time")
}

fn catch_up(server: &PimServer, queue: MemoryQueue) -> CatchUp<MemoryQueue> {
    CatchUp::new(Arc::new(client(server)) as Arc<dyn UpdatedPages>, queue)
}

fn plan(run: &str, window: &Window) -> Checkpoint {
    Checkpoint::plan(run, "https://pim.example.com", window, &CatchUpEntity::ALL, 16)
}

/// Neighbouring slices share their boundary second (see `Window::slices`):
/// an entity updated in it is queued twice, once per slice, and the
/// processor deduplicates. Nothing else may repeat.
fn assert_repeats_only_on_boundaries(ids: &[String]) {
    let mut times: HashMap<&String, usize> = HashMap::new();
    for id in ids {
        *times.entry(id).or_default() += 1;
    }
    assert!(times.values().all(|n| *n <= 2), "an event queued more than twice");
    assert!(ids.len() - times.len() <= 2 * 15, "more repeats than boundaries");
}

/// The ids of the events queued on `queue`.
fn queued_ids(queue: &MemoryQueue) -> Vec<String> {
    queue
        .messages
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|message| message.event_id.clone())
        .collect()
}

#[tokio::test]
async fn every_entity_updated_in_the_window_is_queued_once_through_429s_and_an_expired_token() {
    // GIVEN 450 products and 120 product models updated across the window, 30 products
    // updated before it, and a PIM with pages of 10 that will rate-limit twice and expire its tokens
    let config = Config {
        page_size: 10,
        ..Config::default()
    };
    let server = PimServer::start(config, &[], &[]).await;
    server.put_products(products(450, WINDOW_START, time::Duration::seconds(15)));
    server.put_products((0..30).map(|n| (uuid(1_000 + n), "2026-11-30T09:00:00+00:00".to_owned())));
    server.put_product_models((0..120).map(|n| {
        (
            format!("model_{n:03}"),
            rfc3339(WINDOW_START + time::Duration::minutes(n)),
        )
    }));
    server.fail_next(&[Fault::RateLimited(1), Fault::Status(503), Fault::RateLimited(1)]);
    let pages_seen = Mutex::new(0);
    // WHEN the window is caught up, the tokens expiring after the fifth page
    let runner = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    let (checkpoint, outcome) = runner
        .run(plan("run-1", &window()), false, |_| {
            let mut pages = pages_seen.lock().expect("lock");
            *pages += 1;
            if *pages == 5 {
                server.expire_access_tokens();
            }
        })
        .await;
    // THEN the run finished, every entity of the window is queued once, and none before it
    outcome.expect("the catch-up finishes");
    assert!(checkpoint.is_done());
    let ids = queued_ids(runner.queue());
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 570, "{:?}", checkpoint.tally);
    assert_repeats_only_on_boundaries(&ids);
    assert!(
        ids.iter()
            .all(|id| !(1_000..1_030).any(|n| id.contains(&uuid(n))))
    );
    assert_eq!(checkpoint.tally.read, checkpoint.tally.queued);
    // AND the PIM saw one more token grant, no more than its 4 calls in flight, and several pages per slice
    let counts = server.counts();
    assert!(counts.refresh_grants + counts.password_grants >= 2, "{counts:?}");
    assert!(counts.max_in_flight <= pim::CONCURRENT_LIMIT, "{counts:?}");
    assert_eq!(counts.over_limit, 0, "{counts:?}");
    assert!(checkpoint.tally.pages > 32, "{:?}", checkpoint.tally);
}

#[tokio::test]
async fn a_run_stopped_by_a_pim_that_went_down_resumes_where_it_stopped() {
    // GIVEN 1,000 products in the window and a run whose PIM goes down after 12 pages
    let server = PimServer::start(Config::default(), &[], &[]).await;
    server.put_products(products(1_000, WINDOW_START, time::Duration::seconds(7)));
    let saved = Mutex::new(None);
    let runner =
        catch_up(&server, MemoryQueue::new(Behaviour::Accept)).with_page_time(Duration::from_millis(300));
    let (stopped, outcome) = runner
        .run(plan("run-1", &window()), false, |checkpoint| {
            *saved.lock().expect("lock") = Some(serde_json::to_string(checkpoint).expect("json"));
            if checkpoint.tally.pages == 12 {
                server.down();
            }
        })
        .await;
    assert!(matches!(outcome, Err(CatchUpError::Pim(_))), "{outcome:?}");
    assert!(!stopped.is_done());
    let first_run = queued_ids(runner.queue());
    // WHEN the PIM is back and the run is resumed from the checkpoint it saved
    server.up();
    let searches_before = server.counts().searches;
    let resumed: Checkpoint =
        serde_json::from_str(&saved.lock().expect("lock").clone().expect("saved")).expect("a checkpoint");
    let runner = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    let (finished, outcome) = runner.run(resumed, false, |_| {}).await;
    // THEN it finishes, and the two runs together queued every product once
    outcome.expect("the resumed run finishes");
    assert!(finished.is_done());
    let mut all: Vec<String> = first_run;
    all.extend(queued_ids(runner.queue()));
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), 1_000);
    // No page queued twice: repeats are only the boundary seconds'.
    assert_repeats_only_on_boundaries(&all);
    // AND the resumed run did not start again from the first pages
    let searches = server.counts().searches - searches_before;
    assert!(
        searches < finished.tally.pages as usize,
        "{searches} searches for {:?}",
        finished.tally
    );
}

/// Business logic that counts what it ran, by product and origin.
#[derive(Default)]
struct Logic {
    runs: Mutex<HashMap<String, Vec<&'static str>>>,
}

impl EventHandler for Logic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let origin = match event.protocol {
            Protocol::CatchUp => "catch-up",
            _ => "live",
        };
        let uuid = event.keys.uuid.clone().unwrap_or_default();
        self.runs
            .lock()
            .expect("lock")
            .entry(uuid)
            .or_default()
            .push(origin);
        Outcome::Done
    }
}

type Handling = Processor<Logic, MemoryQueue, MemoryVisibility>;

fn processor(store: &Arc<EmbeddedIdempotencyStore>) -> Handling {
    Processor::new(
        Logic::default(),
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
    .with_idempotency(
        Arc::clone(store) as Arc<dyn IdempotencyStore>,
        Duration::from_secs(3_600),
    )
}

fn messages_of(queue: &MemoryQueue, run: &str) -> Vec<ReceivedMessage> {
    queue
        .messages
        .lock()
        .expect("lock")
        .iter()
        .enumerate()
        .map(|(n, message)| received(&format!("{run}-{n}"), message))
        .collect()
}

async fn process_all(processor: &Handling, messages: &[ReceivedMessage]) {
    for batch in messages.chunks(10) {
        let dispositions = processor.process_batch(batch).await;
        assert!(
            dispositions.iter().all(|d| *d == Disposition::Done),
            "{dispositions:?}"
        );
    }
}

#[tokio::test]
async fn overlapping_runs_run_the_business_logic_once_per_product() {
    // GIVEN 300 products updated across the window, caught up once
    let server = PimServer::start(Config::default(), &[], &[]).await;
    server.put_products(products(300, WINDOW_START, time::Duration::seconds(20)));
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let first = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    first
        .run(plan("run-1", &window()), false, |_| {})
        .await
        .1
        .expect("first run");
    process_all(&processor, &messages_of(first.queue(), "run-1")).await;
    // WHEN a second run over an overlapping, wider window queues them again and they are processed
    let wider = Window::new(WINDOW_START - time::Duration::hours(1), WINDOW_END).expect("window");
    let second = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    second
        .run(plan("run-2", &wider), false, |_| {})
        .await
        .1
        .expect("second run");
    let again = messages_of(second.queue(), "run-2");
    assert!(again.len() >= 300, "the same events are queued again");
    process_all(&processor, &again).await;
    // THEN the business logic ran once per product, for the first run only
    let runs = processor.handler().runs.lock().expect("lock").clone();
    assert_eq!(runs.len(), 300);
    assert!(runs.values().all(|origins| origins == &["catch-up"]), "{runs:?}");
}

#[tokio::test]
async fn a_catch_up_event_older_than_a_live_event_handled_is_skipped() {
    // GIVEN a live event about a product at 10:30:05 handled, the product updated at 10:30:00
    let server = PimServer::start(Config::default(), &[], &[]).await;
    server.put_products([(uuid(1), "2026-12-01T10:30:00+00:00".to_owned())]);
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    process_all(
        &processor,
        &[product_updated_at("live-1", &uuid(1), "2026-12-01T10:30:05Z")],
    )
    .await;
    // WHEN a catch-up reads that product and its event is processed
    let runner = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    runner
        .run(plan("run-1", &window()), false, |_| {})
        .await
        .1
        .expect("run");
    process_all(&processor, &messages_of(runner.queue(), "run-1")).await;
    // THEN the business logic ran for the live event only
    let runs = processor.handler().runs.lock().expect("lock").clone();
    assert_eq!(runs[&uuid(1)], ["live"]);
}

#[tokio::test]
async fn a_live_event_after_a_caught_up_state_still_reaches_the_logic() {
    // GIVEN a catch-up of a product updated at 10:30:00, handled
    let server = PimServer::start(Config::default(), &[], &[]).await;
    server.put_products([(uuid(1), "2026-12-01T10:30:00+00:00".to_owned())]);
    let store = Arc::new(EmbeddedIdempotencyStore::new());
    let processor = processor(&store);
    let runner = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    runner
        .run(plan("run-1", &window()), false, |_| {})
        .await
        .1
        .expect("run");
    process_all(&processor, &messages_of(runner.queue(), "run-1")).await;
    // WHEN a live event about a later change arrives, and an older one delivered late
    process_all(
        &processor,
        &[product_updated_at("live-new", &uuid(1), "2026-12-01T10:45:00Z")],
    )
    .await;
    process_all(
        &processor,
        &[product_updated_at("live-old", &uuid(1), "2026-12-01T10:10:00Z")],
    )
    .await;
    // THEN the logic ran for the catch-up, then both live events (the late one flagged stale,
    // as thin Event Platform events are by default)
    let runs = processor.handler().runs.lock().expect("lock").clone();
    assert_eq!(runs[&uuid(1)], ["catch-up", "live", "live"]);
}

#[tokio::test]
async fn a_dry_run_reads_everything_and_queues_nothing() {
    // GIVEN 250 products in the window, none on a slice's boundary second
    let server = PimServer::start(Config::default(), &[], &[]).await;
    server.put_products(products(
        250,
        WINDOW_START + time::Duration::seconds(1),
        time::Duration::seconds(20),
    ));
    // WHEN a dry run reads the window
    let runner = catch_up(&server, MemoryQueue::new(Behaviour::Accept));
    let (checkpoint, outcome) = runner.run(plan("dry", &window()), true, |_| {}).await;
    // THEN it counted them all and queued none
    outcome.expect("dry run");
    assert_eq!((checkpoint.tally.read, checkpoint.tally.queued), (250, 0));
    assert!(runner.queue().messages.lock().expect("lock").is_empty());
}

/// A queued message as the processor receives it (first delivery).
pub fn received(id: &str, built: &OutboundMessage) -> ReceivedMessage {
    ReceivedMessage {
        message_id: format!("m-{id}"),
        receipt_handle: Some(format!("rh-{id}")),
        body: Some(built.body.clone()),
        receive_count: 1,
        attributes: built
            .attributes
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
    }
}

/// An Event Platform `product.updated` about `uuid` that happened at `time`
/// (RFC 3339), by julia.
pub fn product_updated_at(id: &str, uuid: &str, time: &str) -> ReceivedMessage {
    let raw = format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub-1","time":"{time}","data":{{"product":{{"uuid":"{uuid}"}},"author":{{"identifier":"julia","type":"user"}}}}}}"#
    );
    let fields = EventFields {
        id: Some(id.into()),
        kind: Some("com.akeneo.pim.v1.product.updated".into()),
        occurred_at: Some(time.into()),
        source: Some("sub-1".into()),
    };
    received(
        id,
        &OutboundMessage::build(Protocol::EventPlatform, &raw, &fields, time),
    )
}

mod jobs {
    //! The processor running catch-up jobs by itself: a resume after a
    //! suspension, a scheduled window.

    use super::*;
    use shared::core::catch_up::Job;
    use shared::core::processor::catch_up_jobs::CatchUpJobs;
    use shared::ports::queue::{DynQueueSender, SharedQueue};

    type JobProcessor = Processor<Logic, MemoryQueue, MemoryVisibility>;

    /// A processor whose catch-ups queue onto `queue`, suspensions kept in `store`.
    fn processor(
        server: &PimServer,
        queue: &Arc<MemoryQueue>,
        store: &Arc<EmbeddedIdempotencyStore>,
    ) -> JobProcessor {
        let runner = CatchUp::new(
            Arc::new(client(server)) as Arc<dyn UpdatedPages>,
            SharedQueue(Arc::clone(queue) as Arc<dyn DynQueueSender>),
        );
        let store = Arc::clone(store) as Arc<dyn IdempotencyStore>;
        Processor::new(
            Logic::default(),
            MemoryQueue::new(Behaviour::Accept),
            MemoryVisibility::default(),
            Settings::default(),
        )
        .with_idempotency(Arc::clone(&store), Duration::from_secs(3_600))
        .with_catch_up(CatchUpJobs::new(runner, "https://pim.example.com", Some(store)))
    }

    /// Processes what `queue` holds, and what that queues, until it is empty.
    async fn drain(processor: &JobProcessor, queue: &MemoryQueue) -> usize {
        let mut processed = 0;
        loop {
            let messages: Vec<_> = std::mem::take(&mut *queue.messages.lock().expect("lock"));
            if messages.is_empty() {
                return processed;
            }
            let received: Vec<ReceivedMessage> = messages
                .iter()
                .enumerate()
                .map(|(n, message)| received(&format!("{processed}-{n}"), message))
                .collect();
            processed += received.len();
            process_all(processor, &received).await;
        }
    }

    fn push(queue: &MemoryQueue, job: &Job) {
        queue
            .messages
            .lock()
            .expect("lock")
            .push(job.message("2026-12-07T12:00:00.000Z"));
    }

    #[tokio::test]
    async fn a_resume_catches_up_the_suspended_window_and_the_hour_before_it() {
        // GIVEN products updated during a suspension (10:30 to 11:30), in the hour before it,
        // and two hours before it; the suspension processed
        let server = PimServer::start(Config::default(), &[], &[]).await;
        server.put_products([
            (uuid(1), "2026-12-01T10:45:00+00:00".to_owned()),
            (uuid(2), "2026-12-01T11:29:00+00:00".to_owned()),
            (uuid(3), "2026-12-01T09:50:00+00:00".to_owned()),
            (uuid(4), "2026-12-01T08:00:00+00:00".to_owned()),
        ]);
        let queue = Arc::new(MemoryQueue::new(Behaviour::Accept));
        let store = Arc::new(EmbeddedIdempotencyStore::new());
        let processor = processor(&server, &queue, &store);
        let subscription = "sub-1".to_owned();
        push(
            &queue,
            &Job::Suspended {
                subscription: subscription.clone(),
                at: "2026-12-01T10:30:00Z".into(),
            },
        );
        drain(&processor, &queue).await;
        // WHEN the resume is processed, and everything it queues
        push(
            &queue,
            &Job::Resumed {
                subscription,
                at: "2026-12-01T11:30:00Z".into(),
            },
        );
        let processed = drain(&processor, &queue).await;
        // THEN the logic saw the products of the suspension and of the hour before it, once each
        let runs = processor.handler().runs.lock().expect("lock").clone();
        let seen: BTreeSet<&String> = runs.keys().collect();
        assert_eq!(
            seen,
            [uuid(1), uuid(2), uuid(3)].iter().collect(),
            "{processed} messages processed"
        );
        assert!(runs.values().all(|origins| origins == &["catch-up"]));
    }

    #[tokio::test]
    async fn a_resume_whose_suspension_was_never_heard_of_catches_up_the_day_before() {
        // GIVEN a product updated 20 hours before a resume, and no suspension on record
        let server = PimServer::start(Config::default(), &[], &[]).await;
        server.put_products([(uuid(1), "2026-11-30T15:30:00+00:00".to_owned())]);
        let queue = Arc::new(MemoryQueue::new(Behaviour::Accept));
        let store = Arc::new(EmbeddedIdempotencyStore::new());
        let processor = processor(&server, &queue, &store);
        // WHEN the resume is processed
        push(
            &queue,
            &Job::Resumed {
                subscription: "sub-1".into(),
                at: "2026-12-01T11:30:00Z".into(),
            },
        );
        drain(&processor, &queue).await;
        // THEN the product reached the logic
        let runs = processor.handler().runs.lock().expect("lock").clone();
        assert_eq!(runs.keys().collect::<Vec<_>>(), [&uuid(1)]);
    }

    #[tokio::test]
    async fn the_templates_scheduled_job_catches_up_the_last_hours() {
        // GIVEN a product updated ten minutes ago, one yesterday, and the body the
        // template's schedule sends every 2 hours
        let server = PimServer::start(Config::default(), &[], &[]).await;
        let now = OffsetDateTime::now_utc();
        server.put_products([
            (uuid(1), rfc3339(now - time::Duration::minutes(10))),
            (uuid(2), rfc3339(now - time::Duration::days(1))),
        ]);
        let queue = Arc::new(MemoryQueue::new(Behaviour::Accept));
        let store = Arc::new(EmbeddedIdempotencyStore::new());
        let processor = processor(&server, &queue, &store);
        let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
            .expect("the template");
        let input = template
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix("Input: !Sub '"))
            .expect("the schedule's Input");
        let body = input
            .trim_end_matches('\'')
            .replace("${ReconciliationHours}", "2");
        let scheduled = ReceivedMessage {
            message_id: "scheduled-1".into(),
            receipt_handle: Some("rh".into()),
            body: Some(body),
            receive_count: 1,
            attributes: HashMap::new(),
        };
        // WHEN the processor receives it, then what it queues
        process_all(&processor, &[scheduled]).await;
        drain(&processor, &queue).await;
        // THEN only the recent product reached the logic
        let runs = processor.handler().runs.lock().expect("lock").clone();
        assert_eq!(runs.keys().collect::<Vec<_>>(), [&uuid(1)]);
    }
}

mod hostile {
    //! The catch-up against a PIM that answers like an attacker: its pages'
    //! links lead elsewhere or back to themselves.

    use super::*;
    use shared::adapters::akeneo::ConnectionSettings as Settings;
    use shared::ports::pim::PimReadError;
    use shared::testing::Behaviour as QueueBehaviour;

    use crate::support::hostile_akeneo::{self, Api, Behaviour, HostileAkeneo};

    fn client(server: &HostileAkeneo) -> PimClient {
        let credentials = Credentials {
            client_id: hostile_akeneo::CLIENT_ID.into(),
            client_secret: hostile_akeneo::CLIENT_SECRET.into(),
            username: hostile_akeneo::USERNAME.into(),
            password: hostile_akeneo::PASSWORD.into(),
        };
        let settings = Settings {
            max_concurrent_calls: 1,
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
        };
        PimClient::new(&server.url, &credentials, settings).expect("client")
    }

    fn one_slice(run: &str) -> Checkpoint {
        Checkpoint::plan(
            run,
            "https://pim.example.com",
            &window(),
            &[CatchUpEntity::Product],
            1,
        )
    }

    #[tokio::test]
    async fn a_next_page_on_another_host_is_never_asked_for() {
        // GIVEN a PIM whose search pages link their next page to another host
        let (pim, other) = (HostileAkeneo::start(), HostileAkeneo::start());
        pim.set(
            Api::Rest,
            Behaviour::NextLink(format!("{}/api/rest/v1/products-uuid?search_after=x", other.url)),
        );
        // WHEN a window is caught up
        let runner = CatchUp::new(
            Arc::new(client(&pim)) as Arc<dyn UpdatedPages>,
            MemoryQueue::new(QueueBehaviour::Accept),
        );
        let (checkpoint, outcome) = runner.run(one_slice("hostile-1"), false, |_| {}).await;
        // THEN the run stops on the link, the first page's event is queued and checkpointed,
        // and the other host received nothing at all
        let error = outcome.expect_err("refused");
        assert!(
            matches!(&error, CatchUpError::Pim(PimReadError::Invalid(text)) if text.contains("leaves")),
            "{error}"
        );
        assert_eq!(checkpoint.tally.queued, 1);
        assert!(other.requests().is_empty(), "{:?}", other.requests());
    }

    #[tokio::test]
    async fn a_page_that_links_to_itself_stops_the_run_after_reading_it_once() {
        // GIVEN a PIM whose search pages all link to the same page
        let pim = HostileAkeneo::start();
        let looping = format!("{}/api/rest/v1/products-uuid?search_after=loop", pim.url);
        pim.set(Api::Rest, Behaviour::NextLink(looping));
        // WHEN a window is caught up
        let runner = CatchUp::new(
            Arc::new(client(&pim)) as Arc<dyn UpdatedPages>,
            MemoryQueue::new(QueueBehaviour::Accept),
        );
        let (_, outcome) = runner.run(one_slice("hostile-2"), false, |_| {}).await;
        // THEN it stops as endless after the first page and that page once more, no further
        assert!(matches!(outcome, Err(CatchUpError::EndlessPages)), "{outcome:?}");
        assert_eq!(pim.requests_to("/api/rest/v1/products-uuid"), 2);
    }

    #[tokio::test]
    async fn an_endless_page_is_cut_off_and_the_run_stops_resumable() {
        // GIVEN a PIM whose search answer never ends
        let pim = HostileAkeneo::start();
        pim.set(Api::Rest, Behaviour::EndlessBody);
        // WHEN a window is caught up
        let runner = CatchUp::new(
            Arc::new(client(&pim)) as Arc<dyn UpdatedPages>,
            MemoryQueue::new(QueueBehaviour::Accept),
        )
        .with_page_time(Duration::from_secs(10));
        let (checkpoint, outcome) = runner.run(one_slice("hostile-3"), false, |_| {}).await;
        // THEN the page fails as unavailable (read up to the answer limit), nothing is queued,
        // and the slice is still to be read
        assert!(
            matches!(outcome, Err(CatchUpError::Pim(PimReadError::Unavailable(_)))),
            "{outcome:?}"
        );
        assert_eq!(checkpoint.tally.queued, 0);
        assert_eq!(checkpoint.open_slices(), [0]);
    }
}
