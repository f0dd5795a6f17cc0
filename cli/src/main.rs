//! `akeneo-relay`: run the whole relay on one machine, play Akeneo against it
//! (or against a deployment), and move dead letters back to the queue.

mod commands;
mod deployment;
mod error;
mod local_queue;
mod redrive_token;
mod samples;
mod tenants_file;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // One TLS implementation in the whole build: ring, as the AWS SDK uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match commands::Cli::parse().run().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("akeneo-relay: {error}");
            std::process::ExitCode::from(2)
        }
    }
}
