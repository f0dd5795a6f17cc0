//! The AWS adapters: SDK configuration, SQS behind the queue ports, S3 behind
//! the payload store port, Secrets Manager behind the secret source port,
//! DynamoDB behind the idempotency store port, EventBridge behind the event bus
//! port, and the dead-letter redrive.

pub mod dynamodb;
pub mod eventbridge;
pub mod redrive;
pub mod s3;
pub mod sdk;
pub mod secrets_manager;
pub mod sqs;

pub use sdk::{SdkConfig, sdk_config};
