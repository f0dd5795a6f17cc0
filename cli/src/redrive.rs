//! `redrive`: moves dead letters back to the queue: SQS (StartMessageMoveTask,
//! or receive-send-delete where that is missing), or a running `serve`.

use std::process::ExitCode;

use clap::Args;
use shared::aws::redrive::{Redrive, redrive};

use crate::DEFAULT_PORT;
use crate::server::REDRIVE_PATH;

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

pub async fn run(args: RedriveArgs) -> Result<ExitCode, String> {
    match (args.queue_url, args.dead_letter_queue_url) {
        (Some(queue_url), Some(dlq_url)) => {
            let sdk = shared::aws::sdk_config().await;
            let client = shared::aws::sqs::Client::new(&sdk);
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
        (Some(_), None) => Err("--queue-url needs --dead-letter-queue-url (or DEAD_LETTER_QUEUE_URL)".into()),
        (None, _) => {
            let url = format!("http://127.0.0.1:{}{REDRIVE_PATH}", args.port);
            let response = reqwest::Client::new().post(&url).send().await.map_err(|e| {
                format!("no local relay answered at {url} ({e}); is `akeneo-relay serve` running?")
            })?;
            let body = response.text().await.map_err(|e| e.to_string())?;
            let moved = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["moved"].as_u64());
            println!(
                "moved={}",
                moved.ok_or_else(|| format!("unexpected answer: {body}"))?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
