//! `akeneo-relay`: run the whole relay on one machine, play Akeneo against it
//! (or against a deployment), and move dead letters back to the queue.

mod redrive;
mod samples;
mod send;
mod serve;
mod server;

use clap::{Parser, Subcommand, ValueEnum};
use shared::Protocol;

/// Secrets `serve` uses and `send` signs with when none are given: local only.
pub const DEV_EVENTS_API_SECRET: &str = "dev-events-api-secret";
pub const DEV_EVENT_PLATFORM_SECRET: &str = "dev-event-platform-secret";
pub const DEFAULT_PORT: u16 = 3000;

#[derive(Parser)]
#[command(
    name = "akeneo-relay",
    version,
    about = "Akeneo Event Relay: run it locally, play Akeneo, redrive dead letters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run receiver, queue and processor in one process.
    Serve(serve::ServeArgs),
    /// Play Akeneo: send signed requests to the relay.
    Send(send::SendArgs),
    /// Move dead-lettered messages back to the queue.
    Redrive(redrive::RedriveArgs),
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // One TLS implementation in the whole build: ring, as the AWS SDK uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let outcome = match Cli::parse().command {
        Command::Serve(args) => serve::run(args).await,
        Command::Send(args) => send::run(args).await,
        Command::Redrive(args) => redrive::run(args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("akeneo-relay: {message}");
            std::process::ExitCode::from(2)
        }
    }
}
