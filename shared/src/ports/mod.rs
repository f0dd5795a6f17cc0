//! Every trait the core needs from the outside world, in one place: the queue
//! (send, receive and delete, change visibility), the store of large events'
//! bodies, the source of the signing secrets, the integrator's business
//! logic, the idempotency store, the PIM's current products and the event bus
//! events are published to.

pub mod event_bus;
pub mod handler;
pub mod idempotency;
pub mod payload_store;
pub mod pim;
pub mod queue;
pub mod secrets;

pub use event_bus::{BusError, EventBus};
pub use handler::{EventHandler, Outcome};
pub use idempotency::{Claim, ClaimOutcome, IdempotencyStore, StoreError};
pub use payload_store::{PayloadStore, PayloadStoreError};
pub use pim::{Found, PageCursor, PimReadError, PimReader, UpdatedPages};
pub use queue::{
    BatchEntry, BatchReport, FailedEntry, QueueError, QueueReceiver, QueueSender, QueuedEntry,
    ReceivedMessage, VisibilityChange, VisibilityChanger,
};
pub use secrets::{SecretSource, SecretSourceError};
