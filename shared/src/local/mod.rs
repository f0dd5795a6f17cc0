//! Running the relay on one machine: an in-process queue with the SQS semantics
//! that matter, and a poller that plays Lambda's SQS event source mapping.

pub mod embedded_queue;
pub mod poller;

pub use embedded_queue::EmbeddedQueue;
pub use poller::{PollStats, QueueSource, poll_once};
