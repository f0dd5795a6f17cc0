//! Every way a command can fail, each with a message that says what to do.

use std::path::PathBuf;

use shared::adapters::aws::redrive::RedriveError;
use shared::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: String, source: std::io::Error },
    #[error("{0} needs {1}")]
    MissingFlag(&'static str, &'static str),
    #[error("{0}")]
    Usage(&'static str),
    #[error("cannot read {path}: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(reqwest::Error),
    #[error("no local relay answered at {url} ({source}); is `akeneo-relay serve` running?")]
    LocalRelayUnreachable { url: String, source: reqwest::Error },
    #[error("unexpected answer from {url}: {body}")]
    UnexpectedAnswer { url: String, body: String },
    #[error("redrive token {path}: {source} (is `akeneo-relay serve` running on that port, as this user?)")]
    RedriveToken { path: PathBuf, source: std::io::Error },
    #[error("redrive failed: {0}")]
    Redrive(#[from] RedriveError),
    #[error("PIM connection: {0}")]
    Pim(#[from] shared::assembly::InitError),
    #[error("signing secrets from {0}: {1}")]
    Secrets(String, String),
    #[error("tenants from {0}: {1}")]
    Tenants(String, String),
    #[error("Event Platform: {0}")]
    Management(#[from] shared::adapters::akeneo::ManagementError),
    #[error(transparent)]
    Deployment(#[from] crate::deployment::DeploymentError),
    #[error("no Event Platform subscriber named {0:?}; `akeneo-relay subscribe` creates it")]
    NoSubscriber(String),
    #[error("no Event Platform subscription delivers to {0}; `akeneo-relay subscribe` creates it")]
    NoSubscription(String),
    #[error("{0} is not an Event Platform Request URL (it ends with /event-platform)")]
    NotEventPlatformUrl(String),
    #[error(
        "--filter: {0}; shorten it, or pass --keep-own-events to leave out the exclusion of the connection's events"
    )]
    Filter(#[from] shared::core::subscription::filter::FilterError),
    #[error("--forward-to: {0}")]
    Forward(String),
    #[error("catch-up: {0}")]
    CatchUp(String),
    #[error("no random source to make a secret from")]
    NoRandomness,
    #[error("{url} did not answer ({source})")]
    Unreachable { url: String, source: reqwest::Error },
    #[error(
        "the receiver at {url} answers {answer} to a request signed with the secret, after {waited:?}; it reads the stack's secret every SECRETS_REFRESH_SECS"
    )]
    ReceiverRefusedSecret {
        url: String,
        /// The status, and the receiver's error code when it gave one.
        answer: String,
        waited: std::time::Duration,
    },
    #[error(
        "{url} answers {answer}: the receiver has no such route; check the Request URL (the stack's output EventPlatformRequestUrl)"
    )]
    NoSuchRoute { url: String, answer: String },
    #[error("the change is not visible: {0}")]
    StepNotVisible(String),
    /// A command that changes several things stopped part-way: what it had
    /// changed is in place, and running it again continues from there.
    #[error(
        "{source}\nbefore it stopped, {command} had already:{}\nfix the cause, then run `akeneo-relay {command}` again: it continues from there, reusing what it stored",
        bullets(changed)
    )]
    Stopped {
        command: &'static str,
        changed: Vec<String>,
        source: Box<CliError>,
    },
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

fn bullets(lines: &[String]) -> String {
    lines.iter().map(|line| format!("\n  - {line}")).collect()
}
