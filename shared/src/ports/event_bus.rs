//! The event bus the processor publishes to (EventBridge in AWS and against
//! moto; an in-memory bus in tests and benchmarks).

use futures::future::BoxFuture;

use crate::core::destination::bus::{BusEntry, EntryResult};

/// Why a whole `PutEvents` call failed (no entry was published). The detail
/// is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event bus did not take the entries: {detail}")]
pub struct BusError {
    /// What failed, for logs.
    pub detail: String,
}

/// An event bus (EventBridge, or an in-memory one in tests). Boxed futures
/// so a publisher holds any bus as `Arc<dyn EventBus>`.
pub trait EventBus: Send + Sync + 'static {
    /// Publishes `entries` in one call; answers one result per entry, in
    /// order.
    fn put_events<'a>(&'a self, entries: &'a [BusEntry])
    -> BoxFuture<'a, Result<Vec<EntryResult>, BusError>>;
}
