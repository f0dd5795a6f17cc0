//! `catch-up`: queues one event per product and product model the PIM says
//! was updated in a time window, so the business logic sees what Akeneo did
//! not deliver (a suspended subscription, an outage, a lost event). Onto a
//! deployed stack's queue (`--stack`, `--queue-url`) or a local `serve`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use shared::adapters::akeneo::{ConnectionSettings, PimClient};
use shared::adapters::aws::s3::S3PayloadStore;
use shared::adapters::aws::sdk_config;
use shared::adapters::aws::secrets_manager::SecretsManagerSource;
use shared::adapters::aws::sqs::SqsQueue;
use shared::config::{PIM_MAX_CONCURRENT_CALLS, PIM_SECRET_ARN, PimConfig};
use shared::core::catch_up::{CatchUp, CatchUpEntity, Checkpoint, Window};
use shared::core::message::{KeyPrefix, SQS_MAX_MESSAGE_BYTES};
use shared::core::receiver::LargeEvents;
use shared::core::tenant::pim_connections;
use shared::ports::payload_store::PayloadStore;
use shared::ports::pim::UpdatedPages;
use shared::ports::queue::QueueSender;
use time::OffsetDateTime;

use super::DEFAULT_PORT;
use super::pim_args::PimConnectionArgs;
use crate::deployment::{StackOutputs, TENANT_PIMS_SECRET_ARN_OUTPUT};
use crate::error::CliError;
use crate::local_queue::{LocalQueue, Nowhere};

/// Where a run's checkpoint goes unless told otherwise.
pub const DEFAULT_CHECKPOINT: &str = "akeneo-relay-catch-up.json";

/// Slices per entity: enough for four readers to stay busy to the end when
/// updates are spread over the window.
const SLICES: usize = 16;

#[derive(Args)]
pub struct CatchUpArgs {
    /// The window's start: RFC 3339 (2026-12-01T10:00:00Z) or a duration back
    /// from now (90m, 6h, 3d).
    #[arg(long, required_unless_present = "resume")]
    since: Option<String>,
    /// The window's end, as --since; now when absent.
    #[arg(long)]
    until: Option<String>,
    /// Go on from the checkpoint of an interrupted run.
    #[arg(long)]
    resume: bool,
    /// Where the run's checkpoint is written after every page.
    #[arg(long, default_value = DEFAULT_CHECKPOINT)]
    checkpoint: PathBuf,
    /// Read and count only: queue nothing, write no checkpoint.
    #[arg(long)]
    dry_run: bool,
    /// Write every entity read to this file (`entity<TAB>key<TAB>updated`, one
    /// per line): with --since 1970-01-01T00:00:00Z --dry-run, the PIM's full
    /// list, to compare with your store and find deletions.
    #[arg(long)]
    list: Option<PathBuf>,
    /// Print the summary as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// The deployed stack: its queue, and its bucket for large events.
    #[arg(long)]
    stack: Option<String>,
    /// An SQS queue instead of the stack's.
    #[arg(long, env = "QUEUE_URL")]
    queue_url: Option<String>,
    /// The S3 bucket for entities too large for a queue message, with --queue-url.
    #[arg(long, env = "PAYLOAD_BUCKET")]
    payload_bucket: Option<String>,
    /// The local `serve`'s port, when no queue is named.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// How long one page may take, the PIM's 429s and retries included.
    #[arg(long, default_value_t = 120)]
    page_timeout_secs: u64,
    /// Calls to the PIM in flight (Akeneo allows 4 per connection; a deployed
    /// processor reading with the same connection meanwhile shares them, and
    /// a 429 makes both wait).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=4))]
    concurrency: u16,
    #[command(flatten)]
    connection: PimConnectionArgs,
    /// Or the stack's PIM connection secret (its credentials; the URL is still --pim-url).
    #[arg(long, env = "PIM_SECRET_ARN")]
    pim_secret_arn: Option<String>,
    /// Catch up this tenant's PIM (its connection from --tenants, or the
    /// stack's tenant PIM connections secret); its events carry the tenant.
    #[arg(long, value_parser = super::event_platform::tenant_name)]
    tenant: Option<String>,
    /// With --tenant: the tenants file (`serve --tenants`) holding its PIM connection.
    #[arg(long, value_name = "FILE", requires = "tenant")]
    tenants: Option<PathBuf>,
    /// With --tenant: the tenants' PIM connections secret, when not the
    /// stack's output TenantPimsSecretArn.
    #[arg(long, env = "TENANT_PIMS_SECRET_ARN", requires = "tenant")]
    tenant_pims_secret_arn: Option<String>,
}

pub async fn run(args: CatchUpArgs) -> Result<ExitCode, CliError> {
    let mut queue_url = args.queue_url.clone();
    let mut bucket = args.payload_bucket.clone();
    let mut pim_secret_arn = args.pim_secret_arn.clone();
    let mut tenants_secret_arn = args.tenant_pims_secret_arn.clone();
    if let Some(stack) = &args.stack {
        let outputs = StackOutputs::read(&sdk_config().await, stack).await?;
        queue_url = queue_url.or(Some(outputs.get("QueueUrl")?.to_owned()));
        bucket = bucket.or(outputs.get("PayloadBucketName").ok().map(str::to_owned));
        pim_secret_arn = pim_secret_arn.or(outputs.get("PimConnectionSecretArn").ok().map(str::to_owned));
        tenants_secret_arn =
            tenants_secret_arn.or(outputs.get(TENANT_PIMS_SECRET_ARN_OUTPUT).ok().map(str::to_owned));
    }
    let sdk = match (&pim_secret_arn, &queue_url, &tenants_secret_arn) {
        (None, None, None) => None,
        _ => Some(sdk_config().await),
    };
    let (pim, pim_url) = match &args.tenant {
        Some(tenant) => tenant_client(&args, tenant, tenants_secret_arn.as_deref(), sdk.as_ref()).await?,
        None => {
            let config = PimConfig::from_lookup(&|name: &str| match name {
                PIM_SECRET_ARN => pim_secret_arn.clone(),
                // The connection's own limit is what keeps the readers to it.
                PIM_MAX_CONCURRENT_CALLS => Some(args.concurrency.to_string()),
                other => args.connection.lookup(other).flatten(),
            })?
            .ok_or(CliError::MissingFlag(
                "catch-up",
                "--pim-url (or PIM_URL) and the connection's credentials (or --pim-secret-arn), or --tenant",
            ))?;
            let client = shared::assembly::pim::client(&config, sdk.as_ref()).await?;
            (client, config.url)
        }
    };
    let checkpoint = starting_checkpoint(&args, &pim_url)?;
    let pages = Arc::new(pim) as Arc<dyn UpdatedPages>;
    match (queue_url, sdk) {
        (Some(url), Some(sdk)) => {
            let large = bucket.map(|bucket| LargeEvents {
                store: Arc::new(S3PayloadStore::new(&sdk, bucket)) as Arc<dyn PayloadStore>,
                key_prefix: KeyPrefix::default(),
            });
            let runner = CatchUp::new(pages, SqsQueue::new(&sdk, url)).with_tenant(args.tenant.clone());
            execute(&args, runner, large, checkpoint).await
        }
        _ => {
            if args.dry_run {
                return execute(&args, CatchUp::new(pages, Nowhere), None, checkpoint).await;
            }
            let queue = LocalQueue::on_port(args.port)?;
            let runner = CatchUp::new(pages, queue).with_tenant(args.tenant.clone());
            execute(&args, runner, None, checkpoint).await
        }
    }
}

/// The tenant's PIM client, from the tenants file or secret, and its URL.
async fn tenant_client(
    args: &CatchUpArgs,
    tenant: &str,
    secret_arn: Option<&str>,
    sdk: Option<&shared::adapters::aws::SdkConfig>,
) -> Result<(PimClient, String), CliError> {
    let (text, place) = match (&args.tenants, secret_arn, sdk) {
        (Some(path), _, _) => (crate::tenants_file::read(path)?, path.display().to_string()),
        (None, Some(arn), Some(sdk)) => {
            let text = SecretsManagerSource::new(sdk, arn)
                .secret_string()
                .await
                .map_err(|e| CliError::Tenants(arn.to_owned(), e.to_string()))?;
            (text, arn.to_owned())
        }
        _ => {
            return Err(CliError::MissingFlag(
                "catch-up --tenant",
                "--tenants <file>, --stack, or --tenant-pims-secret-arn",
            ));
        }
    };
    let pims = pim_connections(&text).map_err(|e| CliError::Tenants(place.clone(), e.to_string()))?;
    let pim = match pims.get(tenant) {
        Some(Some(pim)) => pim,
        Some(None) => {
            return Err(CliError::Tenants(
                place,
                format!("tenant {tenant} has no PIM connection"),
            ));
        }
        None => return Err(CliError::Tenants(place, format!("no tenant {tenant}"))),
    };
    let settings = ConnectionSettings {
        max_concurrent_calls: usize::from(args.concurrency),
        ..ConnectionSettings::default()
    };
    let client = PimClient::new(&pim.url, &pim.credentials, settings)
        .map_err(|e| CliError::Tenants(place, e.to_string()))?;
    Ok((client, pim.url.clone()))
}

/// A new run's plan, or the interrupted run's checkpoint with `--resume`.
fn starting_checkpoint(args: &CatchUpArgs, pim_url: &str) -> Result<Checkpoint, CliError> {
    let saved = read_checkpoint(&args.checkpoint)?;
    if args.resume {
        let saved = saved.ok_or_else(|| {
            CliError::CatchUp(format!(
                "--resume: no checkpoint at {}",
                args.checkpoint.display()
            ))
        })?;
        if saved.pim != pim_url {
            return Err(CliError::CatchUp(format!(
                "--resume: {} is a catch-up of {}, not of {pim_url}",
                args.checkpoint.display(),
                saved.pim
            )));
        }
        return Ok(saved);
    }
    if let Some(saved) = saved.filter(|saved| !saved.is_done() && !args.dry_run) {
        return Err(CliError::CatchUp(format!(
            "{} holds an unfinished catch-up ({} to {}): --resume it, or remove the file",
            args.checkpoint.display(),
            saved.since,
            saved.until
        )));
    }
    let since = args.since.as_deref().unwrap_or_default();
    let window = Window::parse(since, args.until.as_deref(), OffsetDateTime::now_utc())
        .map_err(|e| CliError::CatchUp(e.to_string()))?;
    let run = uuid::Uuid::new_v4().to_string();
    Ok(Checkpoint::plan(
        &run,
        pim_url,
        &window,
        &CatchUpEntity::ALL,
        SLICES,
    ))
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CliError::CatchUp(format!("{} is not a catch-up checkpoint: {e}", path.display()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CliError::ReadFile {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Written beside, then renamed over: a crash mid-write never leaves half a
/// checkpoint.
fn write_checkpoint(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(checkpoint)?)?;
    std::fs::rename(&partial, path)
}

async fn execute<Q: QueueSender + Sync>(
    args: &CatchUpArgs,
    runner: CatchUp<Q>,
    large: Option<LargeEvents>,
    checkpoint: Checkpoint,
) -> Result<ExitCode, CliError> {
    let listing = match &args.list {
        Some(path) => Some(Arc::new(Mutex::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|source| CliError::ReadFile {
                path: path.clone(),
                source,
            })?,
        )))),
        None => None,
    };
    let mut runner = runner;
    if let Some(file) = &listing {
        let file = Arc::clone(file);
        runner = runner.with_listing(Arc::new(move |entity, key: &str, updated| {
            let updated = updated
                .map(shared::core::catch_up::window::rfc3339)
                .unwrap_or_default();
            if let Ok(mut file) = file.lock() {
                let _ = writeln!(file, "{}\t{key}\t{updated}", entity.name());
            }
        }));
    }
    let runner = runner
        .with_workers(usize::from(args.concurrency))
        .with_page_time(std::time::Duration::from_secs(args.page_timeout_secs))
        .with_large_events(large, SQS_MAX_MESSAGE_BYTES);
    let started = Instant::now();
    let progress = Progress::new(&checkpoint);
    eprintln!(
        "catch-up {} of {} from {} to {}{}; checkpoint: {}",
        checkpoint.run,
        checkpoint.pim,
        checkpoint.since,
        checkpoint.until,
        if args.dry_run {
            " (dry run: nothing queued)"
        } else {
            ""
        },
        args.checkpoint.display()
    );
    let write_failed: Mutex<Option<std::io::Error>> = Mutex::new(None);
    let (finished, outcome) = runner
        .run(checkpoint, args.dry_run, |checkpoint| {
            if !args.dry_run
                && let Err(error) = write_checkpoint(&args.checkpoint, checkpoint)
                && let Ok(mut slot) = write_failed.lock()
            {
                *slot = Some(error);
            }
            progress.page(checkpoint, started);
        })
        .await;
    progress.finish(&finished, started);
    if let (Some(file), Some(path)) = (&listing, &args.list) {
        let flushed = file.lock().map(|mut file| file.flush());
        if let Ok(Err(source)) = flushed {
            return Err(CliError::ReadFile {
                path: path.clone(),
                source,
            });
        }
    }
    if !args.dry_run {
        write_checkpoint(&args.checkpoint, &finished).map_err(|source| CliError::ReadFile {
            path: args.checkpoint.clone(),
            source,
        })?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "run": finished.run,
        "pim": finished.pim,
        "since": finished.since,
        "until": finished.until,
        "dry_run": args.dry_run,
        "finished": outcome.is_ok(),
        "pages": finished.tally.pages,
        "read": finished.tally.read,
        "queued": finished.tally.queued,
        "seconds": (seconds * 10.0).round() / 10.0,
        "per_second": if seconds > 0.0 { (finished.tally.read as f64 / seconds).round() } else { 0.0 },
        "checkpoint": args.checkpoint.display().to_string(),
        "error": outcome.as_ref().err().map(ToString::to_string),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "read={} queued={} pages={} seconds={:.1} finished={}",
            finished.tally.read,
            finished.tally.queued,
            finished.tally.pages,
            seconds,
            outcome.is_ok()
        );
    }
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(CliError::CatchUp(format!(
            "{error}; what was queued is in {}: run again with --resume to go on",
            args.checkpoint.display()
        ))),
    }
}

/// The progress line on stderr, at most once a second.
struct Progress {
    last: Mutex<Option<Instant>>,
    slices: usize,
}

impl Progress {
    fn new(checkpoint: &Checkpoint) -> Progress {
        Progress {
            last: Mutex::new(None),
            slices: checkpoint.slices.len(),
        }
    }

    fn page(&self, checkpoint: &Checkpoint, started: Instant) {
        let Ok(mut last) = self.last.lock() else { return };
        if last.is_some_and(|at| at.elapsed().as_millis() < 1_000) {
            return;
        }
        *last = Some(Instant::now());
        self.print(checkpoint, started);
    }

    fn finish(&self, checkpoint: &Checkpoint, started: Instant) {
        self.print(checkpoint, started);
        eprintln!();
    }

    fn print(&self, checkpoint: &Checkpoint, started: Instant) {
        let elapsed = started.elapsed().as_secs_f64();
        let done = checkpoint.done_slices();
        let rate = if elapsed > 0.0 {
            checkpoint.tally.read as f64 / elapsed
        } else {
            0.0
        };
        // Slices are equal stretches of time: the share done stands in for the
        // share of the work done (no count is asked of the PIM).
        let eta = match done {
            0 => "?".to_owned(),
            _ if done == self.slices => "0s".to_owned(),
            _ => format!("~{:.0}s", elapsed * (self.slices - done) as f64 / done as f64),
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\rread {} · queued {} · {:.0}/s · slices {done}/{} · ETA {eta}   ",
            checkpoint.tally.read, checkpoint.tally.queued, rate, self.slices
        );
        let _ = stderr.flush();
    }
}
