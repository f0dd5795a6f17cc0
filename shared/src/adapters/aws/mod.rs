//! The AWS adapters: SDK configuration, SQS behind the queue ports, S3 behind
//! the payload store port, Secrets Manager behind the secret source port,
//! DynamoDB behind the idempotency store port, the dead-letter redrive, and
//! (feature `deployment`, for the CLI) a stack's outputs and logs.

#[cfg(feature = "deployment")]
pub mod deployment;
pub mod dynamodb;
pub mod redrive;
pub mod s3;
pub mod sdk;
pub mod secrets_manager;
pub mod sqs;

pub use sdk::{SdkConfig, sdk_config};
