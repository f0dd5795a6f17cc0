//! `doctor`: checks a deployment (or the local `serve`) and says in plain
//! words what works and what does not. Exit code 1 when any check fails.
//!
//! 1. The Request URLs answer `HEAD` with 200.
//! 2. A signed test event is accepted, queued, and reaches the processor
//!    (`serve` answers on its admin route whether its processor saw it; a
//!    deployment's processor logs "doctor probe reached the processor").
//! 3. The Event Platform subscription at this URL exists and is active.
//! 4. Secrets agree: the receiver accepts every Event Platform secret the
//!    stack holds, and Akeneo's delivery log shows no 401 from it in the last
//!    hour (Akeneo never returns a subscription's secret, so its refusals are
//!    the only sign that it signs with another one).
//!
//! With `--json`, the same checks as one JSON object on stdout once all ran:
//! `{"ok":…,"request_url":…,"checks":[{"name":…,"outcome":…,"detail":…}]}`.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use crate::deployment::log_line_exists;
use clap::Args;
use serde::Serialize;
use serde_json::json;
use shared::adapters::akeneo::LogQuery;
use shared::adapters::aws::{SdkConfig, sdk_config};
use shared::core::processor::probes::{PROBE_EVENT_TYPE, PROBE_LOG_LINE};
use shared::core::receiver::secrets::EVENT_PLATFORM_KEY;
use shared::core::signature::event_platform;
use shared::edges::local_http::PROBES_PATH;
use tokio::time::Instant;

use super::{PimArgs, StackArgs, deadline, find_subscriber, print_json, probe};
use crate::commands::{DEFAULT_PORT, DEV_EVENT_PLATFORM_SECRET};
use crate::error::CliError;

#[derive(Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// The Events API Request URL, checked too when given.
    #[arg(long, env = "EVENTS_API_REQUEST_URL")]
    events_api_url: Option<String>,
    /// The processor's log group, where a deployment's processor logs the
    /// test event (the stack's output ProcessorLogGroupName).
    #[arg(long)]
    processor_log_group: Option<String>,
    /// The local `serve` on this port, when no stack or --request-url is given.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The Event Platform secret to sign the test event with; default: the
    /// stack's first, or `serve`'s development secret.
    #[arg(long, env = "EVENT_PLATFORM_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Check the subscription too (needs the PIM connection below).
    #[arg(long)]
    subscription: bool,
    #[command(flatten)]
    pim: PimArgs,
    /// How long the test event may take to reach the processor.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    within: u64,
    /// Print the checks as one JSON object, for scripts (the exit code is the same).
    #[arg(long)]
    json: bool,
}

/// What became of one check.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Failed,
    /// Not checked: what it needs was not given.
    Skipped,
}

/// One check: `name` stays the same from run to run so a script can pick it
/// out; `detail` is the sentence the human output prints.
#[derive(Serialize)]
struct Check {
    name: &'static str,
    outcome: Outcome,
    detail: String,
}

/// What `--json` prints: the verdict first, as a reader looks for it.
#[derive(Serialize)]
struct Summary<'a> {
    ok: bool,
    request_url: &'a str,
    checks: &'a [Check],
}

/// The checks so far. The human output prints each as it ends, since some
/// wait up to --within seconds; JSON needs them all, so it waits for the end.
struct Report {
    json: bool,
    request_url: String,
    checks: Vec<Check>,
}

impl Report {
    fn ok(&mut self, name: &'static str, what: &str) {
        self.add(name, Outcome::Ok, what.to_owned());
    }

    fn fail(&mut self, name: &'static str, what: &str, why: impl std::fmt::Display) {
        self.add(name, Outcome::Failed, format!("{what}: {why}"));
    }

    fn note(&mut self, name: &'static str, what: &str) {
        self.add(name, Outcome::Skipped, what.to_owned());
    }

    fn add(&mut self, name: &'static str, outcome: Outcome, detail: String) {
        if !self.json {
            let mark = match outcome {
                Outcome::Ok => "ok   ",
                Outcome::Failed => "FAIL ",
                Outcome::Skipped => "--   ",
            };
            println!("{mark} {detail}");
        }
        self.checks.push(Check {
            name,
            outcome,
            detail,
        });
    }

    fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count()
    }

    /// Prints the verdict and answers the exit code: 1 when any check failed.
    fn finish(self) -> ExitCode {
        let failed = self.failed();
        if self.json {
            print_json(&Summary {
                ok: failed == 0,
                request_url: &self.request_url,
                checks: &self.checks,
            });
        } else if failed == 0 {
            println!("all checks passed");
        } else {
            println!("{failed} check(s) failed");
        }
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

pub async fn run(args: DoctorArgs) -> Result<ExitCode, CliError> {
    let http = probe::http_client()?;
    let stack = args.stack.resolve().await?;
    let local = stack.request_url().is_err();
    let request_url = match stack.request_url() {
        Ok(url) => url.trim_end_matches('/').to_owned(),
        Err(_) => format!("http://127.0.0.1:{}/event-platform", args.port),
    };
    let mut report = Report {
        json: args.json,
        request_url: request_url.clone(),
        checks: Vec::new(),
    };
    if !args.json {
        println!("checking {request_url}");
    }

    let events_api_url = args.events_api_url.clone().or(stack.events_api_url.clone());
    let urls = std::iter::once(("request_url_answers_head", request_url.as_str())).chain(
        events_api_url
            .as_deref()
            .map(|url| ("events_api_url_answers_head", url)),
    );
    for (name, url) in urls {
        match http.head(url).send().await {
            Ok(answer) if answer.status().as_u16() == 200 => {
                report.ok(name, &format!("{url} answers HEAD with 200"))
            }
            Ok(answer) => report.fail(
                name,
                &format!("{url} answers HEAD"),
                format!("{} (not 200)", answer.status()),
            ),
            Err(error) => report.fail(name, &format!("{url} answers HEAD"), error),
        }
    }

    let stack_secrets = if stack.has_secrets_arn() {
        match stack.secret().await {
            Ok(secret) => Some(secret.read().await.map(|d| d.list(EVENT_PLATFORM_KEY))),
            Err(error) => Some(Err(error)),
        }
    } else {
        None
    };
    let seen_by = match (
        local,
        args.processor_log_group
            .clone()
            .or(stack.processor_log_group.clone()),
    ) {
        (true, _) => Processor::Local(args.port),
        (false, Some(group)) => Processor::LogGroup(Box::new(sdk_config().await), group),
        (false, None) => Processor::Unknown,
    };
    let secret = match (&args.secret, &stack_secrets) {
        (Some(given), _) => Some(given.clone()),
        (None, Some(Ok(listed))) => listed.first().cloned(),
        (None, _) if local => Some(DEV_EVENT_PLATFORM_SECRET.to_owned()),
        _ => None,
    };
    match secret {
        Some(secret) => test_event(&http, &request_url, &secret, &seen_by, args.within, &mut report).await,
        None => report.fail(
            "test_event_accepted",
            "a signed test event reaches the processor",
            "no secret to sign it with (--secret, or --secrets-arn with the stack's secret)",
        ),
    }

    match &stack_secrets {
        Some(Ok(listed)) => {
            for (index, secret) in listed.iter().enumerate() {
                match probe::status(&http, &request_url, secret).await {
                    Ok(200) => report.ok(
                        "receiver_accepts_stack_secret",
                        &format!(
                            "the receiver accepts the stack's Event Platform secret #{}",
                            index + 1
                        ),
                    ),
                    Ok(status) => report.fail(
                        "receiver_accepts_stack_secret",
                        &format!(
                            "the receiver accepts the stack's Event Platform secret #{}",
                            index + 1
                        ),
                        format!("it answers {status}; it reloads its secrets every SECRETS_REFRESH_SECS"),
                    ),
                    Err(error) => report.fail(
                        "receiver_accepts_stack_secret",
                        "the receiver accepts the stack's secrets",
                        error,
                    ),
                }
            }
        }
        Some(Err(error)) => report.fail(
            "stack_secrets_readable",
            "the stack's signing secrets can be read",
            error,
        ),
        None => report.note(
            "receiver_accepts_stack_secret",
            "the stack's signing secrets: not checked (no --secrets-arn)",
        ),
    }

    if args.subscription {
        match args.pim.for_tenant(&stack).await {
            Ok(pim) => subscription_checks(&pim, &request_url, &mut report).await,
            Err(error) => report.fail(
                "subscription_active",
                "the Event Platform subscription is active and delivers to this URL",
                error,
            ),
        }
    } else {
        report.note(
            "subscription_active",
            "the Event Platform subscription: not checked (--subscription and a PIM connection check it)",
        );
    }

    Ok(report.finish())
}

/// Where the processor says it saw the test event.
enum Processor {
    /// `serve` on this port answers on its admin route.
    Local(u16),
    /// A deployment's processor logs it to this log group.
    LogGroup(Box<SdkConfig>, String),
    Unknown,
}

impl Processor {
    /// `Ok(true)` once seen; `Ok(false)` while not yet.
    async fn has_seen(
        &self,
        http: &reqwest::Client,
        id: &str,
        since: SystemTime,
        token: Option<&str>,
    ) -> Result<bool, String> {
        match self {
            Processor::Local(port) => {
                let url = format!("http://127.0.0.1:{port}{PROBES_PATH}{id}");
                let answer = http
                    .get(&url)
                    .bearer_auth(token.unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                match answer.status().as_u16() {
                    200 => Ok(true),
                    404 => Ok(false),
                    status => Err(format!("serve answered {status}")),
                }
            }
            Processor::LogGroup(sdk, group) => log_line_exists(sdk, group, since, &[PROBE_LOG_LINE, id])
                .await
                .map_err(|e| e.to_string()),
            Processor::Unknown => Err("no processor log group (--stack or --processor-log-group)".into()),
        }
    }
}

/// Posts one signed probe event and waits until the processor has seen it.
async fn test_event(
    http: &reqwest::Client,
    request_url: &str,
    secret: &str,
    seen_by: &Processor,
    within: u64,
    report: &mut Report,
) {
    let name = "test_event_accepted";
    let what = "a signed test event is accepted and queued";
    let id = uuid::Uuid::new_v4().to_string();
    let sent_at = SystemTime::now() - Duration::from_secs(60);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = json!({
        "specversion": "1.0",
        "id": id,
        "source": "akeneo-relay-doctor",
        "type": PROBE_EVENT_TYPE,
        "time": now,
        "subject": "doctor",
        "datacontenttype": "application/json",
        "data": {},
    })
    .to_string();
    let mut request = http
        .post(request_url)
        .header("content-type", "application/cloudevents+json");
    for (name, value) in event_platform::headers(secret, None, body.as_bytes()) {
        request = request.header(name, value);
    }
    match request.body(body).send().await {
        Ok(answer) if answer.status().as_u16() == 200 => report.ok(name, what),
        Ok(answer) => {
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            return report.fail(
                name,
                what,
                format!("{status}: {}", text.chars().take(200).collect::<String>()),
            );
        }
        Err(error) => return report.fail(name, what, error),
    }
    let name = "test_event_processed";
    let what = "the test event reaches the processor";
    let token = match seen_by {
        Processor::Local(port) => match crate::redrive_token::read(*port) {
            Ok(token) => Some(token),
            Err(error) => return report.fail(name, what, error),
        },
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_secs(within);
    loop {
        match seen_by.has_seen(http, &id, sent_at, token.as_deref()).await {
            Ok(true) => return report.ok(name, what),
            Ok(false) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(false) => {
                return report.fail(
                    name,
                    what,
                    format!(
                        "event {id} not seen within {within} s (a backed-up queue? its dead-letter queue?)"
                    ),
                );
            }
            Err(error) => return report.fail(name, what, error),
        }
    }
}

async fn subscription_checks(pim: &PimArgs, request_url: &str, report: &mut Report) {
    let name = "subscription_active";
    let what = "the Event Platform subscription is active and delivers to this URL";
    let client = match pim.client().await {
        Ok(client) => client,
        Err(error) => return report.fail(name, what, error),
    };
    let subscriber = match find_subscriber(&client, pim.subscriber_name()).await {
        Ok(Some(subscriber)) => subscriber,
        Ok(None) => {
            return report.fail(
                name,
                what,
                format!(
                    "no subscriber {:?}; run akeneo-relay subscribe",
                    pim.subscriber_name()
                ),
            );
        }
        Err(error) => return report.fail(name, what, error),
    };
    let subscriptions = match client.subscriptions(&subscriber.id, deadline()).await {
        Ok(all) => all,
        Err(error) => return report.fail(name, what, error),
    };
    let Some(subscription) = shared::core::subscription::plan::find_by_url(&subscriptions, request_url)
    else {
        return report.fail(
            name,
            what,
            "no subscription delivers to it; run akeneo-relay subscribe",
        );
    };
    if subscription.is_active() {
        report.ok(
            name,
            &format!(
                "subscription {} is active and delivers to this URL",
                subscription.id
            ),
        );
    } else {
        report.fail(
            name,
            what,
            format!(
                "subscription {} is {}; akeneo-relay subscriptions resume",
                subscription.id,
                subscription.status_text()
            ),
        );
    }
    let name = "no_signature_refusals";
    let what = "Akeneo's deliveries were not refused for their signature in the last hour";
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let query = LogQuery {
        subscription_id: Some(subscription.id.clone()),
        log_type: Some("error".into()),
        from: since.format(&time::format_description::well_known::Rfc3339).ok(),
        limit: 100,
    };
    match client.logs(&query, deadline()).await {
        Ok(entries) => {
            let refused = entries.iter().filter(|e| e.error_code == Some(401)).count();
            if refused == 0 {
                report.ok(name, what);
            } else {
                report.fail(
                    name,
                    what,
                    format!("{refused} delivery error(s) with 401: the subscription signs with a secret the receiver does not hold"),
                );
            }
        }
        Err(error) => report.fail(name, what, error),
    }
}
