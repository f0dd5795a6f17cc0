//! `send`: plays Akeneo. Signs each request exactly as the PIM or the Event
//! Platform does and reports status and latency per request, then p50/p99.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use shared::Protocol;
use shared::core::receiver::secrets::{EVENT_PLATFORM_KEY, EVENTS_API_KEY, SecretDocument};
use shared::core::signature::{event_platform, events_api};
use shared::core::tenant::route_path;
use tokio::sync::Semaphore;

use super::{DEFAULT_PORT, DEV_EVENT_PLATFORM_SECRET, DEV_EVENTS_API_SECRET, ProtocolArg};
use crate::error::CliError;
use crate::samples;

#[derive(Args)]
pub struct SendArgs {
    /// Which Akeneo delivery system to play.
    #[arg(value_enum)]
    protocol: ProtocolArg,
    /// Event type, e.g. product.updated (Events API) or product.deleted /
    /// com.akeneo.pim.v1.product.deleted (Event Platform).
    #[arg(value_name = "TYPE")]
    event_type: Option<String>,
    /// Send this file's bytes as the body instead of a built-in sample.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Signing secret; for the Event Platform a second one signs the secondary header.
    #[arg(long)]
    secret: Vec<String>,
    /// How many requests to send.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// How many requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Where to send; default: the local server's route for the protocol.
    #[arg(long)]
    url: Option<String>,
    /// Play this tenant's PIM: its route (/t/<tenant>/…) and, with
    /// --tenants, its secret.
    #[arg(long, value_parser = super::event_platform::tenant_name)]
    tenant: Option<String>,
    /// With --tenant: the tenants file `serve --tenants` reads, for the
    /// tenant's secret when --secret is not given.
    #[arg(long, value_name = "FILE", requires = "tenant")]
    tenants: Option<PathBuf>,
    /// Send the Events API subscription page's Test request (signed, empty body).
    #[arg(long)]
    test_button: bool,
}

struct Outcome {
    status: Option<u16>,
    latency: Duration,
    detail: String,
}

/// The tenant's secrets for `protocol`'s route, from a tenants file.
fn tenant_secrets(path: &std::path::Path, tenant: &str, protocol: Protocol) -> Result<Vec<String>, CliError> {
    let text = crate::tenants_file::read(path)?;
    let document = SecretDocument::parse(&text)
        .map_err(|e| CliError::Tenants(path.display().to_string(), e.to_string()))?;
    let key = match protocol {
        Protocol::EventsApi => EVENTS_API_KEY,
        Protocol::EventPlatform | Protocol::CatchUp => EVENT_PLATFORM_KEY,
    };
    let secrets = document
        .tenant(tenant)
        .map(|entry| entry.list(key))
        .unwrap_or_default();
    if secrets.is_empty() {
        return Err(CliError::Tenants(
            path.display().to_string(),
            format!("tenant {tenant} has no {} secret", protocol.display_name()),
        ));
    }
    Ok(secrets)
}

pub async fn run(args: SendArgs) -> Result<ExitCode, CliError> {
    let protocol = Protocol::from(args.protocol);
    if args.test_button && protocol != Protocol::EventsApi {
        return Err(CliError::Usage("--test-button exists only for the Events API"));
    }
    let route = route_path(args.tenant.as_deref(), protocol.path());
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{DEFAULT_PORT}{route}"));
    let secrets =
        if let (true, Some(tenant), Some(path)) = (args.secret.is_empty(), &args.tenant, &args.tenants) {
            tenant_secrets(path, tenant, protocol)?
        } else if args.secret.is_empty() {
            vec![match protocol {
                Protocol::EventsApi => DEV_EVENTS_API_SECRET.to_owned(),
                Protocol::EventPlatform | Protocol::CatchUp => DEV_EVENT_PLATFORM_SECRET.to_owned(),
            }]
        } else {
            args.secret.clone()
        };
    let file = match &args.file {
        Some(path) => Some(std::fs::read(path).map_err(|source| CliError::ReadFile {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let kind = args
        .event_type
        .clone()
        .unwrap_or_else(|| samples::default_type(protocol).to_owned());
    if file.is_none() && !args.test_button && !samples::is_known(protocol, &kind) {
        eprintln!(
            "note: {kind} is not a type Akeneo is known to send over the {}; sending it anyway",
            protocol.display_name()
        );
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(CliError::HttpClient)?;

    let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let done = Arc::new(AtomicUsize::new(0));
    let progress = (args.count > 20).then(|| spawn_progress(Arc::clone(&done), args.count));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.count {
        // The semaphore lives as long as this loop and is never closed.
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let body = match (&file, args.test_button) {
            (_, true) => Vec::new(),
            (Some(bytes), _) => bytes.clone(),
            (None, _) => samples::body(protocol, &kind),
        };
        let request = signed(&client, protocol, &url, &secrets, body);
        let done = Arc::clone(&done);
        tasks.spawn(async move {
            let outcome = send_one(request).await;
            drop(permit);
            done.fetch_add(1, Ordering::Relaxed);
            println!(
                "{} {:>8.1} ms {}",
                outcome.status.map_or_else(|| "ERR".to_owned(), |s| s.to_string()),
                outcome.latency.as_secs_f64() * 1000.0,
                outcome.detail
            );
            outcome
        });
    }
    let mut outcomes = Vec::with_capacity(args.count);
    while let Some(joined) = tasks.join_next().await {
        outcomes.push(joined?);
    }
    if let Some(progress) = progress {
        progress.abort();
    }
    Ok(summarise(&outcomes))
}

fn signed(
    client: &reqwest::Client,
    protocol: Protocol,
    url: &str,
    secrets: &[String],
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    let mut request = client.post(url).header("content-type", "application/json");
    let headers = match protocol {
        Protocol::EventsApi => {
            request = request.header("user-agent", "AkeneoPIM/akeneo-relay-send");
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            events_api::headers(&secrets[0], now, &body).to_vec()
        }
        // `send` plays Akeneo: its protocols are the two of ProtocolArg.
        Protocol::EventPlatform | Protocol::CatchUp => {
            event_platform::headers(&secrets[0], secrets.get(1).map(String::as_str), &body)
        }
    };
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(body)
}

async fn send_one(request: reqwest::RequestBuilder) -> Outcome {
    let started = Instant::now();
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            Outcome {
                status: Some(status),
                latency: started.elapsed(),
                detail: body.trim().chars().take(200).collect(),
            }
        }
        Err(error) => Outcome {
            status: None,
            latency: started.elapsed(),
            detail: error.to_string(),
        },
    }
}

fn spawn_progress(done: Arc<AtomicUsize>, total: usize) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            eprintln!("progress: {}/{total} sent", done.load(Ordering::Relaxed));
        }
    })
}

fn summarise(outcomes: &[Outcome]) -> ExitCode {
    let failed = outcomes
        .iter()
        .filter(|o| !o.status.is_some_and(|s| (200..300).contains(&s)))
        .count();
    let mut latencies: Vec<f64> = outcomes
        .iter()
        .map(|o| o.latency.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1]
    };
    println!(
        "requests={} ok={} failed={failed} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        outcomes.len(),
        outcomes.len() - failed,
        percentile(50.0),
        percentile(99.0),
        latencies.last().copied().unwrap_or(0.0)
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
