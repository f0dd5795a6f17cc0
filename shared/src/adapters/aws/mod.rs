//! The AWS adapters: SDK configuration, SQS behind the queue ports, Secrets
//! Manager behind the secret source port, and the dead-letter redrive.

pub mod redrive;
pub mod sdk;
pub mod secrets_manager;
pub mod sqs;

pub use sdk::{SdkConfig, sdk_config};
