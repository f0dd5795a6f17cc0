//! The Lambda entry points: the receiver's Function URL and the processor's
//! SQS event source mapping.

pub mod function_url;
pub mod sqs_event;
