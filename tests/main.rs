//! The integration suite, one binary: the receiver and the processor against
//! moto (SQS, S3, DynamoDB), the receiver's own SQS sender, large events through S3, Secrets Manager
//! rotation, the PIM client (and the Akeneo clients against a hostile server) and the processor's enrichment against a PIM
//! test server, the template's operational checks, the release package, and the real release
//! binaries end to end.

mod support;

mod catch_up;
mod forwarding_limits;
mod hostile_akeneo;
mod idempotency_dynamodb;
mod large_events;
mod packaging;
mod pim_client;
mod processor_enrichment;
mod processor_sqs;
mod queue_sender;
mod receiver_sqs;
mod release_binaries;
mod secrets_manager;
mod template;
mod tenants_secrets;
