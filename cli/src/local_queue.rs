//! The queue of a running `serve` (its embedded queue), reached through its
//! token-protected admin route: what `catch-up` queues on when no SQS queue
//! is named.

use std::collections::HashMap;

use shared::edges::local_http::QUEUE_PATH;
use shared::ports::queue::{BatchEntry, BatchReport, QueueError, QueueSender, QueuedEntry};

use crate::error::CliError;

/// `serve` on a local port.
pub struct LocalQueue {
    url: String,
    token: String,
    client: reqwest::Client,
}

impl LocalQueue {
    /// The `serve` listening on `port`, with the token it wrote.
    pub fn on_port(port: u16) -> Result<LocalQueue, CliError> {
        Ok(LocalQueue {
            url: format!("http://127.0.0.1:{port}{QUEUE_PATH}"),
            token: crate::redrive_token::read(port)?,
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(CliError::HttpClient)?,
        })
    }
}

#[derive(serde::Serialize)]
struct Message<'a> {
    body: &'a str,
    attributes: HashMap<&'a str, &'a str>,
}

impl QueueSender for LocalQueue {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let messages: Vec<Message<'_>> = entries
            .iter()
            .map(|entry| Message {
                body: &entry.message.body,
                attributes: entry
                    .message
                    .attributes
                    .iter()
                    .map(|(name, value)| (*name, value.as_str()))
                    .collect(),
            })
            .collect();
        let unavailable = |detail: String| QueueError::Unavailable { detail };
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "messages": messages }).to_string())
            .send()
            .await
            .map_err(|e| unavailable(format!("serve at {}: {e}", self.url)))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(QueueError::Invalid {
                detail: format!("serve answered {status}: {body}"),
            });
        }
        let ids: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| serde_json::from_value(answer["ids"].clone()).ok())
            .ok_or_else(|| unavailable(format!("serve answered {body}")))?;
        if ids.len() != entries.len() {
            return Err(unavailable(format!(
                "serve queued {} of {} messages",
                ids.len(),
                entries.len()
            )));
        }
        Ok(BatchReport {
            queued: entries
                .iter()
                .zip(ids)
                .map(|(entry, message_id)| QueuedEntry {
                    id: entry.id.to_owned(),
                    message_id,
                })
                .collect(),
            failed: Vec::new(),
        })
    }
}

/// No queue: a dry run reads and counts, and sends nothing.
pub struct Nowhere;

impl QueueSender for Nowhere {
    async fn send_batch<'a>(&'a self, _: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        Err(QueueError::Invalid {
            detail: "a dry run queues nothing".into(),
        })
    }
}
