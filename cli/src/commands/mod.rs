//! The commands, parsed with clap; each returns the process's exit code or a
//! [`CliError`].

mod catch_up;
mod event_platform;
mod pim_args;
mod redrive;
mod send;
mod serve;
mod tenants;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shared::Protocol;

use crate::error::CliError;

/// Secrets `serve` uses and `send` signs with when none are given: local only.
pub const DEV_EVENTS_API_SECRET: &str = "dev-events-api-secret";
pub const DEV_EVENT_PLATFORM_SECRET: &str = "dev-event-platform-secret";
pub const DEV_NOTIFICATION_SECRET: &str = "dev-event-platform-notification-secret";
/// `serve --forward-to`'s signing secret when none is given (Standard
/// Webhooks form: the base64 of "akeneo-event-relay-local-forwarding").
pub const DEV_FORWARD_SECRET: &str = "whsec_YWtlbmVvLWV2ZW50LXJlbGF5LWxvY2FsLWZvcndhcmRpbmc=";
pub const DEFAULT_PORT: u16 = 3000;

#[derive(Parser)]
#[command(
    name = "akeneo-relay",
    version,
    about = "Akeneo Event Relay: run it locally, play Akeneo, redrive dead letters, manage the Event Platform subscription"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run receiver, queue and processor in one process.
    Serve(Box<serve::ServeArgs>),
    /// Play Akeneo: send signed requests to the relay.
    Send(send::SendArgs),
    /// Move dead-lettered messages back to the queue.
    Redrive(redrive::RedriveArgs),
    /// Register the deployment with the Event Platform (idempotent).
    Subscribe(Box<event_platform::subscribe::SubscribeArgs>),
    /// List, show, suspend, resume or delete Event Platform subscriptions.
    Subscriptions(Box<event_platform::subscriptions::SubscriptionsArgs>),
    /// The Event Platform's delivery logs, newest first.
    Logs(Box<event_platform::logs::LogsArgs>),
    /// Rotate a route's signing secret without losing an event.
    RotateSecret(Box<event_platform::rotate::RotateArgs>),
    /// Check a deployment (or the local serve) end to end.
    Doctor(Box<event_platform::doctor::DoctorArgs>),
    /// Queue every product and product model the PIM updated in a time window.
    CatchUp(Box<catch_up::CatchUpArgs>),
    /// Add, list or remove the deployment's tenants (one PIM each).
    Tenants(Box<tenants::TenantsArgs>),
}

impl Cli {
    pub async fn run(self) -> Result<ExitCode, CliError> {
        match self.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Send(args) => send::run(args).await,
            Command::Redrive(args) => redrive::run(args).await,
            Command::Subscribe(args) => event_platform::subscribe::run(*args).await,
            Command::Subscriptions(args) => event_platform::subscriptions::run(*args).await,
            Command::Logs(args) => event_platform::logs::run(*args).await,
            Command::RotateSecret(args) => event_platform::rotate::run(*args).await,
            Command::Doctor(args) => event_platform::doctor::run(*args).await,
            Command::CatchUp(args) => catch_up::run(*args).await,
            Command::Tenants(args) => tenants::run(*args).await,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProtocolArg {
    EventsApi,
    EventPlatform,
}

impl From<ProtocolArg> for Protocol {
    fn from(arg: ProtocolArg) -> Protocol {
        match arg {
            ProtocolArg::EventsApi => Protocol::EventsApi,
            ProtocolArg::EventPlatform => Protocol::EventPlatform,
        }
    }
}
