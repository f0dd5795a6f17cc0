//! The integration suite, one binary: the receiver and the processor against
//! moto, large events through S3, Secrets Manager rotation, the template's
//! operational checks, and the real release binaries end to end.

mod support;

mod large_events;
mod processor_sqs;
mod receiver_sqs;
mod release_binaries;
mod secrets_manager;
mod template;
