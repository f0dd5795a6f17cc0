//! The AWS adapters: SDK configuration, SQS behind the queue ports, Secrets
//! Manager behind the secret source port, DynamoDB behind the idempotency
//! store port, and the dead-letter redrive.

pub mod dynamodb;
pub mod redrive;
pub mod sdk;
pub mod secrets_manager;
pub mod sqs;

pub use sdk::{SdkConfig, sdk_config};
