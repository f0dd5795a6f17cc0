//! `serve`: receiver, queue and processor in one process, with the exact
//! request and batch handling the Lambdas use.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Args;
use shared::adapters::aws::s3::S3PayloadStore;
use shared::adapters::aws::sdk_config;
use shared::adapters::aws::sqs::SqsQueue;
use shared::adapters::embedded::{EmbeddedPayloadStore, EmbeddedQueue};
use shared::adapters::logging_handler::LoggingHandler;
use shared::config::ReceiverConfig;
use shared::core::processor::{Processor, Settings};
use shared::core::receiver::{LargeEvents, Receiver, RouteSecrets, SecretStore};
use shared::edges::local_http::{self, REDRIVE_PATH, Redrive};
use shared::edges::queue_poller::{PollStats, poll_once};
use shared::ports::queue::{
    BatchEntry, BatchReport, QueueError, QueueReceiver, QueueSender, VisibilityChanger,
};
use shared::{EventHandler, Outcome, PimEvent};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{DEFAULT_PORT, DEV_EVENT_PLATFORM_SECRET, DEV_EVENTS_API_SECRET};
use crate::error::CliError;

#[derive(Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Events API secret (repeatable); EVENTS_API_SECRETS overrides.
    #[arg(long)]
    events_api_secret: Vec<String>,
    /// Event Platform secret (repeatable); EVENT_PLATFORM_SECRETS overrides.
    #[arg(long)]
    event_platform_secret: Vec<String>,
    /// Demo: fail events of this type transiently, to watch backoff and dead-lettering.
    #[arg(long = "fail", value_name = "TYPE")]
    fail: Vec<String>,
    /// Embedded queue: receives before a message is dead-lettered.
    #[arg(long, default_value_t = 3)]
    max_receives: u32,
    /// Embedded queue: seconds a received message stays hidden.
    #[arg(long, default_value_t = 30)]
    visibility_timeout: u64,
    /// Longest retry backoff in seconds (short here so demos move along).
    #[arg(long, default_value_t = 10)]
    backoff_cap: u64,
    /// Use this SQS queue (with the usual AWS environment) instead of the embedded one.
    #[arg(long)]
    queue_url: Option<String>,
    /// The SQS dead-letter queue, with --queue-url.
    #[arg(long, env = "DEAD_LETTER_QUEUE_URL")]
    dead_letter_queue_url: Option<String>,
    /// With --queue-url: the S3 bucket for events too large for one queue
    /// message (without it they are refused with 413).
    #[arg(long, env = "PAYLOAD_BUCKET")]
    payload_bucket: Option<String>,
}

/// How many messages the embedded queue's redrive policy dead-lettered.
type MovedByPolicy = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The default business logic, failing the `--fail` types transiently.
struct DemoLogic {
    failing: Vec<String>,
}

impl EventHandler for DemoLogic {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let kind = event.event_type.as_deref().unwrap_or_default();
        if self
            .failing
            .iter()
            .any(|f| kind == f || kind.ends_with(&format!(".{f}")))
        {
            return Outcome::Retry(format!("--fail {kind}"));
        }
        LoggingHandler.handle(event).await
    }
}

/// Counts what the receiver queued, for the final line.
struct Counting<Q> {
    inner: Q,
    queued: Arc<AtomicU64>,
}

impl<Q: QueueSender> QueueSender for Counting<Q> {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let report = self.inner.send_batch(entries).await?;
        self.queued
            .fetch_add(report.queued.len() as u64, Ordering::Relaxed);
        Ok(report)
    }
}

pub async fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    shared::observability::init();
    let secrets = |variable: &str, flags: &[String], default: &str| {
        std::env::var(variable)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| {
                if flags.is_empty() {
                    default.to_owned()
                } else {
                    flags.join(",")
                }
            })
    };
    let events_api = secrets(
        "EVENTS_API_SECRETS",
        &args.events_api_secret,
        DEV_EVENTS_API_SECRET,
    );
    let event_platform = secrets(
        "EVENT_PLATFORM_SECRETS",
        &args.event_platform_secret,
        DEV_EVENT_PLATFORM_SECRET,
    );
    let queue_label = args.queue_url.clone().unwrap_or_else(|| "embedded".to_owned());
    let receiver_config = ReceiverConfig::from_lookup(|name| match name {
        "QUEUE_URL" => Some(queue_label.clone()),
        "EVENTS_API_SECRETS" => Some(events_api.clone()),
        "EVENT_PLATFORM_SECRETS" => Some(event_platform.clone()),
        // Local runs use the listed secrets, not a Secrets Manager secret.
        "SECRETS_ARN" => None,
        // Large events go where the queue mode says (below).
        "PAYLOAD_BUCKET" => None,
        other => std::env::var(other).ok(),
    })?;
    let settings = Settings {
        backoff_cap: Duration::from_secs(args.backoff_cap.max(1)),
        ..Settings::default()
    };
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|source| CliError::Listen {
            address: format!("127.0.0.1:{}", args.port),
            source,
        })?;
    let base = format!("http://127.0.0.1:{}", args.port);
    println!("Akeneo Event Relay on {base}");
    println!("  Events API Request URL      {base}/events-api      secret(s): {events_api}");
    println!("  Event Platform Request URL  {base}/event-platform  secret(s): {event_platform}");
    let logic = DemoLogic {
        failing: args.fail.clone(),
    };

    match &args.queue_url {
        None => {
            println!(
                "  queue: embedded (visibility {} s, dead-lettered after {} receives); redrive: akeneo-relay redrive",
                args.visibility_timeout, args.max_receives
            );
            let dlq = Arc::new(EmbeddedQueue::new(
                "dead-letters",
                Duration::from_secs(args.visibility_timeout),
            ));
            let queue = Arc::new(
                EmbeddedQueue::new("events", Duration::from_secs(args.visibility_timeout))
                    .with_dead_letter_queue(Arc::clone(&dlq), args.max_receives),
            );
            println!(
                "  large events (queue messages over {} bytes): kept in the embedded store, a pointer queued",
                receiver_config.large_events.max_message_bytes
            );
            let payloads = Arc::new(EmbeddedPayloadStore::new("embedded"));
            let redrive: Redrive = {
                let (queue, dlq) = (Arc::clone(&queue), Arc::clone(&dlq));
                Arc::new(move || dlq.move_all_to(&queue))
            };
            let processor = Processor::new(logic, Arc::clone(&dlq), Arc::clone(&queue), settings)
                .with_payload_store(payloads.clone(), true);
            let large_events = LargeEvents {
                store: payloads,
                key_prefix: receiver_config.large_events.key_prefix.clone(),
            };
            let moved_by_policy: MovedByPolicy = {
                let queue = Arc::clone(&queue);
                Arc::new(move || queue.moved_to_dead_letters())
            };
            let embedded = Some((redrive, moved_by_policy));
            relay(
                listener,
                &receiver_config,
                Arc::clone(&queue),
                queue,
                processor,
                Some(large_events),
                embedded,
            )
            .await
        }
        Some(queue_url) => {
            let dlq_url = args.dead_letter_queue_url.clone().ok_or(CliError::MissingFlag(
                "--queue-url",
                "--dead-letter-queue-url (or DEAD_LETTER_QUEUE_URL)",
            ))?;
            println!(
                "  queue: {queue_url} (dead letters: {dlq_url}), polled like Lambda's event source mapping"
            );
            let sdk = sdk_config().await;
            let queue = Arc::new(SqsQueue::new(&sdk, queue_url));
            let dlq = SqsQueue::new(&sdk, &dlq_url);
            let bucket = args.payload_bucket.clone();
            match &bucket {
                Some(bucket) => println!("  large events: stored in s3://{bucket}, a pointer queued"),
                None => println!("  large events: refused with 413 (--payload-bucket stores them in S3)"),
            }
            // The processor reads pointers from whichever bucket they name.
            let payloads = Arc::new(S3PayloadStore::new(&sdk, bucket.clone().unwrap_or_default()));
            let processor = Processor::new(logic, dlq, Arc::clone(&queue), settings)
                .with_payload_store(payloads.clone(), true);
            let large_events = bucket.map(|_| LargeEvents {
                store: payloads,
                key_prefix: receiver_config.large_events.key_prefix.clone(),
            });
            relay(
                listener,
                &receiver_config,
                Arc::clone(&queue),
                queue,
                processor,
                large_events,
                None,
            )
            .await
        }
    }
}

async fn relay<Q, S, H, D, V>(
    listener: TcpListener,
    config: &ReceiverConfig,
    queue: Q,
    source: S,
    processor: Processor<H, D, V>,
    large_events: Option<LargeEvents>,
    embedded: Option<(Redrive, MovedByPolicy)>,
) -> Result<ExitCode, CliError>
where
    Q: QueueSender + 'static,
    S: QueueReceiver + 'static,
    H: EventHandler,
    D: QueueSender + 'static,
    V: VisibilityChanger + 'static,
{
    let received = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: queue,
        queued: Arc::clone(&received),
    };
    let secrets = SecretStore::fixed(RouteSecrets {
        events_api: config.events_api_secrets.clone(),
        event_platform: config.event_platform_secrets.clone(),
    });
    let mut receiver = Receiver::new(counting, secrets, config.events_api_tolerance_secs)
        .with_max_message_bytes(config.large_events.max_message_bytes);
    if let Some(large_events) = large_events {
        receiver = receiver.with_large_events(large_events);
    }
    let receiver = Arc::new(receiver);
    let (stop, stopped) = watch::channel(false);
    let stats = Arc::new(PollStats::default());
    let (redrive, moved_by_policy) = embedded.unzip();
    if redrive.is_some() {
        println!("  (local admin: POST {REDRIVE_PATH} moves dead letters back)");
    }
    println!("  try: akeneo-relay send events-api product.updated    (Ctrl-C stops)");

    let poller = {
        let stats = Arc::clone(&stats);
        let stopped = stopped.clone();
        tokio::spawn(async move {
            // Finishes the batch in hand before stopping.
            while !*stopped.borrow() {
                if let Err(error) = poll_once(&source, &processor, 10, Duration::from_secs(1), &stats).await {
                    tracing::warn!(reason = %error, "polling the queue failed; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        })
    };
    let server = tokio::spawn(local_http::serve(listener, receiver, redrive, stopped));

    shutdown_signal().await;
    eprintln!("stopping: finishing requests and the batch in flight");
    let _ = stop.send(true);
    let _ = server.await;
    let _ = poller.await;
    println!(
        "received={} processed={} retried={} dead_lettered={}",
        received.load(Ordering::Relaxed),
        stats.processed.load(Ordering::Relaxed),
        stats.retried.load(Ordering::Relaxed),
        stats.dead_lettered.load(Ordering::Relaxed) + moved_by_policy.map_or(0, |moved| moved())
    );
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending::<()>().await,
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
