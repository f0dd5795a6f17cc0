//! The commands, parsed with clap; each returns the process's exit code or a
//! [`CliError`].

mod redrive;
mod send;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shared::Protocol;

use crate::error::CliError;

/// Secrets `serve` uses and `send` signs with when none are given: local only.
pub const DEV_EVENTS_API_SECRET: &str = "dev-events-api-secret";
pub const DEV_EVENT_PLATFORM_SECRET: &str = "dev-event-platform-secret";
pub const DEV_NOTIFICATION_SECRET: &str = "dev-event-platform-notification-secret";
pub const DEFAULT_PORT: u16 = 3000;

#[derive(Parser)]
#[command(
    name = "akeneo-relay",
    version,
    about = "Akeneo Event Relay: run it locally, play Akeneo, redrive dead letters"
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
}

impl Cli {
    pub async fn run(self) -> Result<ExitCode, CliError> {
        match self.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Send(args) => send::run(args).await,
            Command::Redrive(args) => redrive::run(args).await,
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
