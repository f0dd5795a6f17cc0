//! Every trait the core needs from the outside world, in one place: the queue
//! (send, receive and delete, change visibility), the store of large events'
//! bodies, the source of the signing secrets, and the integrator's business
//! logic.

pub mod handler;
pub mod payload_store;
pub mod queue;
pub mod secrets;

pub use handler::{EventHandler, Outcome};
pub use payload_store::{PayloadStore, PayloadStoreError};
pub use queue::{
    BatchEntry, BatchReport, FailedEntry, QueueError, QueueReceiver, QueueSender, QueuedEntry,
    ReceivedMessage, VisibilityChange, VisibilityChanger,
};
pub use secrets::{SecretSource, SecretSourceError};
