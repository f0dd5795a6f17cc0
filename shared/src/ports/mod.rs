//! Every trait the core needs from the outside world, in one place: the queue
//! (send, receive and delete, change visibility), the source of the signing
//! secrets, and the integrator's business logic.

pub mod handler;
pub mod queue;
pub mod secrets;

pub use handler::{EventHandler, Outcome};
pub use queue::{
    BatchEntry, BatchReport, FailedEntry, QueueError, QueueReceiver, QueueSender, QueuedEntry,
    ReceivedMessage, VisibilityChange, VisibilityChanger,
};
pub use secrets::{SecretSource, SecretSourceError};
