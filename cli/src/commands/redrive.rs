//! `redrive`: moves dead letters back to the queue: SQS (StartMessageMoveTask,
//! or receive-send-delete where that is missing), or a running `serve`.

use std::process::ExitCode;

use clap::Args;
use shared::adapters::aws::redrive::{Redrive, redrive};
use shared::adapters::aws::{sdk_config, sqs};
use shared::edges::local_http::REDRIVE_PATH;

use super::DEFAULT_PORT;
use crate::error::CliError;

#[derive(Args)]
pub struct RedriveArgs {
    /// The SQS queue to move messages back to; without it, the local `serve`.
    #[arg(long, env = "QUEUE_URL")]
    queue_url: Option<String>,
    /// The SQS dead-letter queue.
    #[arg(long, env = "DEAD_LETTER_QUEUE_URL")]
    dead_letter_queue_url: Option<String>,
    /// The local `serve`'s port, when no queue URL is given.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
}

pub async fn run(args: RedriveArgs) -> Result<ExitCode, CliError> {
    match (args.queue_url, args.dead_letter_queue_url) {
        (Some(queue_url), Some(dlq_url)) => {
            let sdk = sdk_config().await;
            let client = sqs::client(&sdk);
            match redrive(&client, &dlq_url, &queue_url).await? {
                Redrive::MoveTask {
                    task_handle,
                    approximate,
                } => {
                    println!("move task started for about {approximate} message(s): {task_handle}")
                }
                Redrive::Copied { moved } => println!("moved={moved}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        (Some(_), None) => Err(CliError::MissingFlag(
            "--queue-url",
            "--dead-letter-queue-url (or DEAD_LETTER_QUEUE_URL)",
        )),
        (None, _) => {
            let url = format!("http://127.0.0.1:{}{REDRIVE_PATH}", args.port);
            let unreachable = |source| CliError::LocalRelayUnreachable {
                url: url.clone(),
                source,
            };
            let token = crate::redrive_token::read(args.port)?;
            let response = reqwest::Client::new()
                .post(&url)
                .bearer_auth(token)
                .send()
                .await
                .map_err(&unreachable)?;
            let body = response.text().await.map_err(&unreachable)?;
            let moved = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["moved"].as_u64())
                .ok_or_else(|| CliError::UnexpectedAnswer {
                    url: url.clone(),
                    body,
                })?;
            println!("moved={moved}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
