//! The template's outputs the CLI reads to find a deployment by its stack
//! name (template.yaml, `Outputs`; the template test pins them).

pub const EVENT_PLATFORM_REQUEST_URL: &str = "EventPlatformRequestUrl";
pub const EVENTS_API_REQUEST_URL: &str = "EventsApiRequestUrl";
pub const SIGNING_SECRETS_ARN: &str = "SigningSecretsArn";
pub const PROCESSOR_LOG_GROUP: &str = "ProcessorLogGroupName";
