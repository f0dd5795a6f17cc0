//! EventBridge behind the event bus port: one `PutEvents` per call, each
//! entry's own result read back.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
pub use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures::future::BoxFuture;

use crate::core::destination::bus::{BusEntry, EntryResult};
use crate::core::destination::detail::SOURCE;
use crate::ports::event_bus::{BusError, EventBus};

/// One attempt of a `PutEvents` call, and the call with the SDK's own retries;
/// the publisher retries what is left.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// An EventBridge bus behind the [`EventBus`] port.
#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus: String,
}

impl EventBridgeBus {
    /// Publishes to `bus`, a name or an ARN (a bus of another account).
    pub fn new(sdk_config: &SdkConfig, bus: impl Into<String>) -> EventBridgeBus {
        let config = aws_sdk_eventbridge::config::Builder::from(sdk_config)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        EventBridgeBus {
            client: Client::from_conf(config),
            bus: bus.into(),
        }
    }

    /// The bus's name or ARN.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<EntryResult>, BusError> {
        let request = entries.iter().map(|entry| {
            PutEventsRequestEntry::builder()
                .event_bus_name(&self.bus)
                .source(SOURCE)
                .detail_type(&entry.detail_type)
                .detail(&entry.detail)
                .build()
        });
        let output = self
            .client
            .put_events()
            .set_entries(Some(request.collect()))
            .send()
            .await
            .map_err(|error| BusError {
                detail: DisplayErrorContext(&error).to_string(),
            })?;
        Ok(output
            .entries()
            .iter()
            .map(|result| match result.error_code() {
                None if result.event_id().is_some() => EntryResult::Published,
                code => EntryResult::Failed {
                    code: code.unwrap_or("NoEventId").to_owned(),
                    message: result.error_message().unwrap_or_default().to_owned(),
                },
            })
            .collect())
    }
}

impl EventBus for EventBridgeBus {
    fn put_events<'a>(
        &'a self,
        entries: &'a [BusEntry],
    ) -> BoxFuture<'a, Result<Vec<EntryResult>, BusError>> {
        Box::pin(self.put(entries))
    }
}
