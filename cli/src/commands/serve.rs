//! `serve`: receiver, queue and processor in one process, with the exact
//! request and batch handling the Lambdas use.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use futures::FutureExt;
use shared::adapters::akeneo::{ConnectionSettings, TenantConnections};
use shared::adapters::aws::eventbridge::EventBridgeBus;
use shared::adapters::aws::s3::S3PayloadStore;
use shared::adapters::aws::sdk_config;
use shared::adapters::aws::secrets_manager::SecretsManagerSource;
use shared::adapters::aws::sqs::SqsQueue;
use shared::adapters::embedded::{EmbeddedIdempotencyStore, EmbeddedPayloadStore, EmbeddedQueue};
use shared::adapters::logging_handler::LoggingHandler;
use shared::adapters::webhook::{DEFAULT_TIMEOUT as FORWARD_TIMEOUT, WebhookForwarder};
use shared::assembly::destination::Destination;
use shared::config::{
    DEFAULT_FETCH_BUDGET, PIM_MAX_CONCURRENT_CALLS, PIM_SECRET_ARN, PimConfig, ReceiverConfig,
};
use shared::core::catch_up::CatchUp;
use shared::core::destination::detail::SOURCE;
use shared::core::destination::publisher::BusPublisher;
use shared::core::destination::standard_webhooks::SigningKey;
use shared::core::message::SQS_MAX_MESSAGE_BYTES;
use shared::core::processor::catch_up_jobs::CatchUpJobs;
use shared::core::processor::idempotency::DEFAULT_WINDOW;
use shared::core::processor::own_events::OwnAuthors;
use shared::core::processor::{Processor, Settings};
use shared::core::receiver::{LargeEvents, Receiver, RouteSecrets, SecretStore};
use shared::core::tenant::pim_connections;
use shared::edges::local_http::{self, REDRIVE_PATH, RedriveAdmin};
use shared::edges::queue_poller::{PollStats, poll_once};
use shared::ports::idempotency::IdempotencyStore;
use shared::ports::pim::PimReader;
use shared::ports::pim::UpdatedPages;
use shared::ports::queue::{
    BatchEntry, BatchReport, QueueError, QueueReceiver, QueueSender, VisibilityChanger,
};
use shared::ports::queue::{DynQueueSender, SharedQueue};
use shared::{EventHandler, Outcome, PimEvent};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::pim_args::PimConnectionArgs;
use super::{
    DEFAULT_PORT, DEV_EVENT_PLATFORM_SECRET, DEV_EVENTS_API_SECRET, DEV_FORWARD_SECRET,
    DEV_NOTIFICATION_SECRET,
};
use crate::error::CliError;
use crate::tenants_file::{self, FileTenants};

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
    /// Event Platform notification webhook secret; EVENT_PLATFORM_NOTIFICATION_SECRET overrides.
    #[arg(long)]
    notification_secret: Vec<String>,
    /// Read the signing secrets from this Secrets Manager secret (the
    /// deployment's document) and reload them as the Lambda does, instead of
    /// the flags above.
    #[arg(long, env = "SECRETS_ARN")]
    secrets_arn: Option<String>,
    /// Serve the tenants of this file (the secret document's form, written by
    /// `akeneo-relay tenants add --file`): each at /t/<tenant>/… with its own
    /// secrets and PIM connection, beside the top-level routes. Reread while
    /// serving.
    #[arg(long, value_name = "FILE", conflicts_with = "secrets_arn")]
    tenants: Option<PathBuf>,
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
    /// Run every event as delivered: no skipping of duplicate and stale events.
    #[arg(long)]
    no_idempotency: bool,
    /// Your PIM connection: product and product model events are given the
    /// current product, and the connection's own events are skipped.
    #[command(flatten)]
    pim: PimConnectionArgs,
    /// Calls to the PIM in flight at most; `serve` is the only process, so Akeneo's 4.
    #[arg(long, env = "PIM_MAX_CONCURRENT_CALLS", default_value_t = 4)]
    pim_max_concurrent_calls: usize,
    /// Skip events by this author too (repeatable, or comma-separated).
    #[arg(long = "ignore-author", env = "PIM_IGNORE_AUTHORS", value_delimiter = ',')]
    ignore_authors: Vec<String>,
    /// With --queue-url: the S3 bucket for events too large for one queue
    /// message (without it they are refused with 413).
    #[arg(long, env = "PAYLOAD_BUCKET")]
    payload_bucket: Option<String>,
    /// Forward each event to this URL (your application), signed the
    /// Standard Webhooks way, instead of logging it.
    #[arg(long, value_name = "URL", conflicts_with = "event_bus")]
    forward_to: Option<String>,
    /// The forwarding secret (whsec_…); default: a development secret, printed at start.
    #[arg(long, env = "FORWARD_SECRET", hide_env_values = true)]
    forward_secret: Option<String>,
    /// Forwarded requests in flight at most.
    #[arg(long, env = "FORWARD_CONCURRENCY", default_value_t = 4)]
    forward_concurrency: usize,
    /// Publish each event to this EventBridge bus (a name or an ARN, with the
    /// usual AWS environment) instead of logging it.
    #[arg(long, value_name = "BUS")]
    event_bus: Option<String>,
}

/// What a batch polled from an SQS queue may take before its claims expire:
/// SQS's default visibility timeout.
const SQS_RUN_FOR: Duration = Duration::from_secs(30);

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
    let notifications = secrets(
        "EVENT_PLATFORM_NOTIFICATION_SECRET",
        &args.notification_secret,
        DEV_NOTIFICATION_SECRET,
    );
    let queue_label = args.queue_url.clone().unwrap_or_else(|| "embedded".to_owned());
    let receiver_config = ReceiverConfig::from_lookup(|name| match name {
        "QUEUE_URL" => Some(queue_label.clone()),
        "EVENTS_API_SECRETS" => Some(events_api.clone()),
        "EVENT_PLATFORM_SECRETS" => Some(event_platform.clone()),
        "EVENT_PLATFORM_NOTIFICATION_SECRET" => Some(notifications.clone()),
        "SECRETS_ARN" => args.secrets_arn.clone(),
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
    let secrets = match &receiver_config.secrets_arn {
        Some(arn) => {
            let source = SecretsManagerSource::new(&sdk_config().await, arn);
            let secrets = source
                .into_store(receiver_config.secrets_refresh)
                .await
                .map_err(|e| CliError::Secrets(arn.clone(), e.to_string()))?;
            println!("Akeneo Event Relay on {base}");
            println!("  Events API Request URL      {base}/events-api");
            println!("  Event Platform Request URL  {base}/event-platform");
            println!("  Event Platform notifications {base}/event-platform/notifications");
            println!(
                "  secrets: {arn}, reloaded every {} s",
                receiver_config.secrets_refresh.as_secs()
            );
            secrets
        }
        None => {
            println!("Akeneo Event Relay on {base}");
            println!("  Events API Request URL      {base}/events-api      secret(s): {events_api}");
            println!("  Event Platform Request URL  {base}/event-platform  secret(s): {event_platform}");
            println!(
                "  Event Platform notifications {base}/event-platform/notifications  secret: {notifications}"
            );
            let top_level = RouteSecrets {
                events_api: receiver_config.events_api_secrets.clone(),
                event_platform: receiver_config.event_platform_secrets.clone(),
                notifications: receiver_config.notification_secrets.clone(),
                ..RouteSecrets::default()
            };
            match &args.tenants {
                None => SecretStore::fixed(top_level),
                Some(path) => {
                    let file = FileTenants::new(path, top_level);
                    let secrets = file.read_now()?;
                    for (name, routes) in &secrets.tenants {
                        let route = |protocol: &str, secrets: &shared::core::signature::Secrets| {
                            if secrets.is_empty() {
                                String::from("(no secret: 404)")
                            } else {
                                format!("{base}/t/{name}/{protocol}")
                            }
                        };
                        println!(
                            "  tenant {name:<12} {}  {}  {}",
                            route("events-api", &routes.events_api),
                            route("event-platform", &routes.event_platform),
                            route("event-platform/notifications", &routes.notifications),
                        );
                    }
                    println!(
                        "  tenants: {} from {}, reread every {} s",
                        secrets.tenants.len(),
                        path.display(),
                        receiver_config.secrets_refresh.as_secs()
                    );
                    SecretStore::reloading(secrets, Arc::new(file), receiver_config.secrets_refresh)
                }
            }
        }
    };
    let logic = destination(&args).await?;
    // A destination that cannot carry a large event whole points to its
    // object, which must then stay.
    let delete_when_done = matches!(logic, Destination::Logic(_));
    let pim = Pim::from_args(&args).await?;
    // In process memory, forgotten when `serve` stops (as the embedded queue is).
    let store = (!args.no_idempotency).then(|| Arc::new(EmbeddedIdempotencyStore::new()));

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
            let port = listener.local_addr().map_or(args.port, |address| address.port());
            // Kept to the end of the run: dropping it removes the file.
            let token_file = crate::redrive_token::create(port)?;
            // The doctor's probes the processor saw, asked for on the admin route.
            let probes: Arc<Mutex<HashSet<String>>> = Arc::default();
            let redrive = RedriveAdmin {
                token: token_file.token.clone(),
                action: {
                    let (queue, dlq) = (Arc::clone(&queue), Arc::clone(&dlq));
                    Arc::new(move || dlq.move_all_to(&queue))
                },
                probe_seen: {
                    let probes = Arc::clone(&probes);
                    Arc::new(move |id| probes.lock().is_ok_and(|seen| seen.contains(id)))
                },
                enqueue: {
                    let queue = Arc::clone(&queue);
                    Arc::new(move |body, attributes| queue.push(body, attributes))
                },
            };
            println!(
                "  redrive token (read by akeneo-relay redrive): {}",
                token_file.path.display()
            );
            let large_events = LargeEvents {
                store: payloads.clone(),
                key_prefix: receiver_config.large_events.key_prefix.clone(),
            };
            let processor = pim.attach(
                idempotent(
                    Processor::new(logic, Arc::clone(&dlq), Arc::clone(&queue), settings)
                        .with_payload_store(payloads, delete_when_done)
                        .with_probe_recorder(Arc::new(move |id| {
                            if let Ok(mut seen) = probes.lock() {
                                seen.insert(id.to_owned());
                            }
                        })),
                    store.as_ref(),
                ),
                SharedQueue(Arc::clone(&queue) as Arc<dyn DynQueueSender>),
                store.as_ref(),
                Some(large_events.clone()),
            );
            let moved_by_policy: MovedByPolicy = {
                let queue = Arc::clone(&queue);
                Arc::new(move || queue.moved_to_dead_letters())
            };
            let embedded = Some((redrive, moved_by_policy));
            relay(
                listener,
                &receiver_config,
                secrets.clone(),
                Arc::clone(&queue),
                queue,
                processor,
                QueueMode {
                    large_events: Some(large_events),
                    embedded,
                    run_for: Duration::from_secs(args.visibility_timeout),
                },
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
            let large_events = bucket.map(|_| LargeEvents {
                store: payloads.clone(),
                key_prefix: receiver_config.large_events.key_prefix.clone(),
            });
            let processor = pim.attach(
                idempotent(
                    Processor::new(logic, dlq, Arc::clone(&queue), settings)
                        .with_payload_store(payloads, delete_when_done),
                    store.as_ref(),
                ),
                SharedQueue(Arc::clone(&queue) as Arc<dyn DynQueueSender>),
                store.as_ref(),
                large_events.clone(),
            );
            relay(
                listener,
                &receiver_config,
                secrets.clone(),
                Arc::clone(&queue),
                queue,
                processor,
                QueueMode {
                    large_events,
                    embedded: None,
                    run_for: SQS_RUN_FOR,
                },
            )
            .await
        }
    }
}

/// Where events go: the demo logic (a log line each), or the endpoint or bus
/// the flags name.
async fn destination(args: &ServeArgs) -> Result<Destination<DemoLogic>, CliError> {
    if let Some(url) = &args.forward_to {
        let secret = args.forward_secret.as_deref().unwrap_or(DEV_FORWARD_SECRET);
        let key = SigningKey::parse(secret).map_err(|error| CliError::Forward(error.to_string()))?;
        let forwarder = WebhookForwarder::new(url, key, args.forward_concurrency, FORWARD_TIMEOUT)
            .map_err(|error| CliError::Forward(error.to_string()))?;
        println!(
            "  events: forwarded to {url}, signed (Standard Webhooks) with {}, {} at a time",
            if args.forward_secret.is_some() {
                "--forward-secret"
            } else {
                DEV_FORWARD_SECRET
            },
            args.forward_concurrency.max(1)
        );
        return Ok(Destination::Https(Box::new(forwarder)));
    }
    if let Some(bus) = &args.event_bus {
        println!("  events: published to the EventBridge bus {bus} (source {SOURCE})");
        let bus = EventBridgeBus::new(&sdk_config().await, bus);
        return Ok(Destination::Bus(BusPublisher::new(Arc::new(bus))));
    }
    Ok(Destination::Logic(DemoLogic {
        failing: args.fail.clone(),
    }))
}

/// Skips duplicate and stale events through a store in process memory,
/// forgotten when `serve` stops (as the embedded queue is).
fn idempotent<H, D, V>(
    processor: Processor<H, D, V>,
    store: Option<&Arc<EmbeddedIdempotencyStore>>,
) -> Processor<H, D, V>
where
    H: EventHandler,
    D: QueueSender,
    V: VisibilityChanger,
{
    if let Some(store) = store {
        println!("  idempotency: duplicate and stale events skipped (in memory)");
        processor.with_idempotency(Arc::clone(store) as Arc<dyn IdempotencyStore>, DEFAULT_WINDOW)
    } else {
        println!("  idempotency: off, every delivery runs the business logic");
        processor
    }
}

/// The PIM connection of `--pim-url` and the authors to skip.
struct Pim {
    url: String,
    enrichment: Option<(shared::adapters::akeneo::PimClient, Duration)>,
    ignored_authors: Vec<String>,
    own: OwnAuthors,
    /// `--tenants`' PIM connections, one per tenant.
    tenants: Option<TenantConnections>,
}

impl Pim {
    /// Reads the flags (or their variables) as the Lambda reads its
    /// environment, so the same values are valid or invalid in both.
    async fn from_args(args: &ServeArgs) -> Result<Pim, CliError> {
        let config = PimConfig::from_lookup(&|name: &str| match name {
            PIM_MAX_CONCURRENT_CALLS => Some(args.pim_max_concurrent_calls.to_string()),
            // Locally the credentials come from flags or variables, not a secret.
            PIM_SECRET_ARN => None,
            other => args
                .pim
                .lookup(other)
                .unwrap_or_else(|| std::env::var(other).ok()),
        })?;
        let ignored_authors: Vec<String> = args
            .ignore_authors
            .iter()
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        let (tenants, tenant_own) = match &args.tenants {
            None => (None, OwnAuthors::default()),
            Some(path) => {
                let text = tenants_file::read(path)?;
                let pims = pim_connections(&text)
                    .map_err(|e| CliError::Tenants(path.display().to_string(), e.to_string()))?;
                let settings = ConnectionSettings {
                    max_concurrent_calls: args.pim_max_concurrent_calls.max(1),
                    ..ConnectionSettings::default()
                };
                let connections =
                    TenantConnections::new(&pims, settings, Some(tenants_file::reload(path)))
                        .map_err(|e| CliError::Tenants(path.display().to_string(), e.to_string()))?;
                for (name, pim) in &pims {
                    if let Some(pim) = pim {
                        println!(
                            "  tenant {name:<12} PIM: {} as {} ({} calls at a time)",
                            pim.url, pim.credentials.username, settings.max_concurrent_calls
                        );
                    }
                }
                (
                    Some(connections),
                    shared::assembly::pim::tenant_own_authors(&pims),
                )
            }
        };
        let Some(config) = config else {
            return Ok(Pim {
                url: String::new(),
                enrichment: None,
                ignored_authors,
                own: tenant_own,
                tenants,
            });
        };
        let client = shared::assembly::pim::client(&config, None).await?;
        let mut own = shared::assembly::pim::own_authors(&config, &client);
        own.extend(tenant_own);
        println!(
            "  PIM: {} as {} ({} call{} at a time): product and product model events enriched, a resumed subscription caught up{}",
            config.url,
            client.username(),
            config.max_concurrent_calls,
            if config.max_concurrent_calls == 1 { "" } else { "s" },
            match (config.skip_own_events, &config.user_uuid) {
                (false, _) => "",
                (true, Some(_)) => ", own events skipped",
                (true, None) =>
                    ", own events skipped (Event Platform: by client id; --pim-user-uuid adds the user's UUID)",
            }
        );
        Ok(Pim {
            url: config.url.clone(),
            enrichment: Some((client, config.fetch_budget)),
            ignored_authors,
            own,
            tenants,
        })
    }

    fn attach<H: EventHandler, D: QueueSender, V: VisibilityChanger>(
        &self,
        processor: Processor<H, D, V>,
        queue: SharedQueue,
        store: Option<&Arc<EmbeddedIdempotencyStore>>,
        large_events: Option<LargeEvents>,
    ) -> Processor<H, D, V> {
        let mut processor = processor
            .with_ignored_authors(self.ignored_authors.clone())
            .with_own_authors(self.own.clone());
        if let Some(tenants) = &self.tenants {
            processor = processor.with_tenant_pims(Arc::new(tenants.clone()), DEFAULT_FETCH_BUDGET);
        }
        let store = store.map(|store| Arc::clone(store) as Arc<dyn IdempotencyStore>);
        // The catch-ups a resume or a schedule asks for, onto this queue:
        // with the connection of --pim-url, and each tenant's for its own.
        let jobs = match &self.enrichment {
            Some((client, budget)) => {
                let runner = CatchUp::new(Arc::new(client.clone()) as Arc<dyn UpdatedPages>, queue)
                    .with_large_events(large_events, SQS_MAX_MESSAGE_BYTES);
                processor = processor.with_pim(Arc::new(client.clone()) as Arc<dyn PimReader>, *budget);
                Some(CatchUpJobs::new(runner, &self.url, store))
            }
            None if self.tenants.is_some() => Some(CatchUpJobs::for_tenants_only(
                queue,
                large_events,
                SQS_MAX_MESSAGE_BYTES,
                store,
            )),
            None => None,
        };
        match (jobs, &self.tenants) {
            (Some(jobs), Some(tenants)) => {
                processor.with_catch_up(jobs.with_tenants(Arc::new(tenants.clone())))
            }
            (Some(jobs), None) => processor.with_catch_up(jobs),
            (None, _) => processor,
        }
    }
}

/// What differs between the embedded queue and an SQS queue.
struct QueueMode {
    /// Where events too large for one message go; `None`: refused with 413.
    large_events: Option<LargeEvents>,
    /// The embedded queue's redrive and dead-letter count; `None` with SQS.
    embedded: Option<(RedriveAdmin, MovedByPolicy)>,
    /// How long one polled batch may run (its visibility timeout).
    run_for: Duration,
}

async fn relay<Q, S, H, D, V>(
    listener: TcpListener,
    config: &ReceiverConfig,
    secrets: SecretStore,
    queue: Q,
    source: S,
    processor: Processor<H, D, V>,
    mode: QueueMode,
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
    let mut receiver = Receiver::new(counting, secrets, config.events_api_tolerance_secs)
        .with_max_message_bytes(config.large_events.max_message_bytes);
    let QueueMode {
        large_events,
        embedded,
        run_for,
    } = mode;
    if let Some(large_events) = large_events {
        receiver = receiver.with_large_events(large_events);
    }
    let receiver = Arc::new(receiver);
    let (stop, stopped) = watch::channel(false);
    let stats = Arc::new(PollStats::default());
    let (redrive, moved_by_policy) = embedded.unzip();
    if redrive.is_some() {
        println!("  (local admin: POST {REDRIVE_PATH} with the token moves dead letters back)");
    }
    println!("  try: akeneo-relay send events-api product.updated    (Ctrl-C stops)");

    let poller = {
        let stats = Arc::clone(&stats);
        let stopped = stopped.clone();
        tokio::spawn(async move {
            // Finishes the batch in hand before stopping (see SHUTDOWN_GRACE).
            // After a full batch more are likely waiting: the next poll does
            // not wait, as Lambda's pollers keep up with a backlog.
            let mut wait = POLL_WAIT;
            while !*stopped.borrow() {
                // The processor turns its own panics into retries; this guard is
                // for the queue adapters around it. A poller that died would
                // leave the HTTP side acknowledging events nobody processes.
                let polled =
                    AssertUnwindSafe(poll_once(&source, &processor, POLL_BATCH, wait, run_for, &stats))
                        .catch_unwind()
                        .await;
                match polled {
                    Ok(Ok(handled)) => {
                        wait = if handled == POLL_BATCH {
                            Duration::ZERO
                        } else {
                            POLL_WAIT
                        }
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(reason = %error, "polling the queue failed; trying again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(_) => {
                        tracing::error!(
                            "polling the queue panicked; its messages come back after their visibility timeout; polling again"
                        );
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
    };
    let server = tokio::spawn(local_http::serve(listener, receiver, redrive, stopped));

    shutdown_signal().await;
    eprintln!("stopping: finishing requests and the batch in flight");
    let _ = stop.send(true);
    let _ = server.await;
    // A batch in hand gets time to finish; a hung call does not hold the
    // process: what it did not delete comes back after its visibility timeout.
    let poller_abort = poller.abort_handle();
    if tokio::time::timeout(SHUTDOWN_GRACE, poller).await.is_err() {
        poller_abort.abort();
        tracing::warn!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "the batch in flight did not finish in time; stopping anyway (its messages come back after their visibility timeout)"
        );
    }
    println!(
        "received={} processed={} retried={} dead_lettered={}",
        received.load(Ordering::Relaxed),
        stats.processed.load(Ordering::Relaxed),
        stats.retried.load(Ordering::Relaxed),
        stats.dead_lettered.load(Ordering::Relaxed) + moved_by_policy.map_or(0, |moved| moved())
    );
    Ok(ExitCode::SUCCESS)
}

/// Messages per poll (SQS's maximum) and how long an empty queue is waited on.
const POLL_BATCH: usize = 10;
const POLL_WAIT: Duration = Duration::from_secs(1);

/// How long stopping waits for the batch in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
