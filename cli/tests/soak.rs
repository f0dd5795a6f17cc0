//! The fault-injection soak: `serve --queue-url` on moto behind a proxy that
//! delays, fails, cuts off after landing, or hangs 33 % of the AWS calls, and
//! senders that behave like Akeneo. Nothing acknowledged may be lost, and
//! every answer must come inside the sender's deadline.
//!
//! One minute in the test command; `scripts/soak SECONDS` runs it longer (a
//! release build) and writes the figures to `target/soak-report.json`.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared::adapters::aws::sdk_config;
use shared::adapters::aws::sqs::{Client, QueueAttributeName};
use support::Serve;
use support::akeneo_sender::{self, EVENT_PLATFORM_SECRET, EVENTS_API_SECRET, Sent};
use support::fault_proxy::{self, FaultRates};

const RATES: FaultRates = FaultRates {
    delay: 14,
    server_error: 9,
    drop_after_landing: 6,
    hang: 4,
};
/// After sending stops, how long retries and redeliveries may take to settle.
const DRAIN: Duration = Duration::from_secs(120);

fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: the soak needs moto (scripts/test starts it)")
    })
}

/// The queue and its dead-letter queue, straight on moto: redelivered after
/// 5 s, dead-lettered after 5 receives.
async fn queues(sqs: &Client, name: &str) -> (String, String) {
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("moto answers")
        .queue_url
        .expect("url");
    let dlq_arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}-dlq");
    let queue = sqs
        .create_queue()
        .queue_name(name)
        .attributes(aws_sdk_sqs_attribute("VisibilityTimeout"), "5")
        .attributes(
            aws_sdk_sqs_attribute("RedrivePolicy"),
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#),
        )
        .send()
        .await
        .expect("moto answers")
        .queue_url
        .expect("url");
    (queue, dlq)
}

fn aws_sdk_sqs_attribute(name: &str) -> QueueAttributeName {
    QueueAttributeName::from(name)
}

/// The event ids the business logic ran, with how many times.
fn processed(serve: &Serve) -> (BTreeSet<String>, u64, u64) {
    let mut ids = BTreeSet::new();
    let (mut runs, mut skipped) = (0, 0);
    for line in serve.output().lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let message = value["message"].as_str().unwrap_or_default();
        if message == "event received" {
            runs += 1;
            ids.insert(value["event_id"].as_str().unwrap_or_default().to_owned());
        } else if message.starts_with("duplicate event skipped") {
            skipped += 1;
        }
    }
    (ids, runs, skipped)
}

/// Messages on the queue, waiting or in flight (moto's counts are exact).
async fn in_queue(sqs: &Client, queue: &str) -> u64 {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("moto answers")
        .attributes
        .unwrap_or_default();
    attributes
        .values()
        .filter_map(|count| count.parse::<u64>().ok())
        .sum()
}

async fn dead_lettered(sqs: &Client, dlq: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .expect("moto answers");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return ids;
        }
        for message in messages {
            let body = message.body.unwrap_or_default();
            if let Ok(envelope) = shared::core::message::read_envelope(&body)
                && let Some(id) = envelope.id
            {
                ids.insert(id);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_on_a_third_of_the_queue_calls_no_acknowledged_event_is_lost_and_no_deadline_missed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);

    // GIVEN moto behind a proxy faulting 30 % of the calls, and serve polling a queue through it
    let moto = moto_endpoint();
    let sqs = Client::new(&sdk_config().await);
    let name = format!("soak-{}", std::process::id());
    let (queue, dlq) = queues(&sqs, &name).await;
    let upstream = moto
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = fault_proxy::start(upstream, RATES, 0x5eed).await;
    assert!(RATES.total() > 30);
    let serve = Serve::start(
        &[
            "--queue-url",
            &queue,
            "--dead-letter-queue-url",
            &dlq,
            "--events-api-secret",
            EVENTS_API_SECRET,
            "--event-platform-secret",
            EVENT_PLATFORM_SECRET,
        ],
        None,
        &[
            ("AWS_ENDPOINT_URL", proxy.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let base = format!("http://127.0.0.1:{}", serve.port);

    // WHEN Akeneo-like senders post for the soak's duration (one for each protocol)
    let sent = Arc::new(Mutex::new(Sent::default()));
    let until = Instant::now() + Duration::from_secs(seconds);
    let events_api = {
        let (base, sent) = (base.clone(), Arc::clone(&sent));
        tokio::spawn(async move { akeneo_sender::events_api(&base, 0, until, &sent).await })
    };
    let event_platform = {
        let (base, sent) = (base.clone(), Arc::clone(&sent));
        tokio::spawn(async move { akeneo_sender::event_platform(&base, 0, until, &sent).await })
    };
    events_api.await.expect("Events API sender");
    event_platform.await.expect("Event Platform sender");
    let acknowledged = sent.lock().expect("lock").acknowledged.clone();
    // Until every acknowledged event ran or was dead-lettered, or the queue is
    // empty (nothing left to run), or the drain's time is up.
    let drained = Instant::now() + DRAIN.max(Duration::from_secs(seconds / 3));
    let mut dead = BTreeSet::new();
    let mut still_queued = in_queue(&sqs, &queue).await;
    while Instant::now() < drained {
        let ran = processed(&serve).0;
        dead = dead_lettered(&sqs, &dlq).await.union(&dead).cloned().collect();
        still_queued = in_queue(&sqs, &queue).await;
        let settled = acknowledged
            .iter()
            .all(|id| ran.contains(id) || dead.contains(id));
        if settled || still_queued == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // THEN every acknowledged event ran or was dead-lettered, and no answer came late
    let (ran_ids, runs, skipped) = processed(&serve);
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !ran_ids.contains(*id) && !dead.contains(*id))
        .collect();
    let sent = sent.lock().expect("lock");
    let counts = &proxy.counts;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let report = serde_json::json!({
        "seconds": seconds,
        "requests": sent.requests,
        "non_2xx": sent.non_2xx,
        "events_acknowledged": acknowledged.len(),
        "events_refused_to_the_events_api": sent.refused.len(),
        "events_processed": ran_ids.intersection(&acknowledged).count(),
        "events_processed_though_refused": ran_ids.difference(&acknowledged).count(),
        "dead_lettered": dead.len(),
        "still_queued_at_the_end": still_queued,
        "lost": lost.len(),
        "business_logic_runs": runs,
        "business_logic_runs_beyond_one": runs.saturating_sub(ran_ids.len() as u64),
        "duplicates_skipped": skipped,
        "deadline_misses": sent.deadline_misses,
        "slowest_answer_ms": sent.slowest.as_millis() as u64,
        "aws_calls": load(&counts.calls),
        "aws_calls_faulted": counts.faulted(),
        "faults": {
            "delayed": load(&counts.delayed),
            "server_errors": load(&counts.server_errors),
            "dropped_after_landing": load(&counts.dropped_after_landing),
            "hung": load(&counts.hung),
        },
    });
    println!("soak report: {report}");
    let _ = std::fs::create_dir_all("../target");
    let _ = std::fs::write("../target/soak-report.json", format!("{report:#}\n"));
    let _ = std::fs::write("../target/soak-serve.log", serve.output());
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}; {report}",
        lost.len(),
        lost.first()
    );
    assert_eq!(sent.deadline_misses, 0, "{report}");
    assert!(
        acknowledged.len() >= 100,
        "too few events acknowledged to mean anything: {report}"
    );
    assert!(
        counts.faulted() * 100 >= load(&counts.calls) * 25,
        "faults under 25 % of calls: {report}"
    );
}
