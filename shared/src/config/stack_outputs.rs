//! The template's outputs the CLI reads to find a deployment by its stack
//! name (template.yaml, `Outputs`; the template test pins them).

/// The Event Platform route's URL.
pub const EVENT_PLATFORM_REQUEST_URL: &str = "EventPlatformRequestUrl";
/// The Events API route's URL.
pub const EVENTS_API_REQUEST_URL: &str = "EventsApiRequestUrl";
/// The ARN of the signing secrets' secret.
pub const SIGNING_SECRETS_ARN: &str = "SigningSecretsArn";
/// The ARN of the tenants' routes secret (only with `Tenants=Enabled`).
pub const TENANTS_SECRET_ARN_OUTPUT: &str = "TenantsSecretArn";
/// The ARN of the tenants' PIM connections secret (only with `Tenants=Enabled`).
pub const TENANT_PIMS_SECRET_ARN_OUTPUT: &str = "TenantPimsSecretArn";
/// The processor's CloudWatch log group.
pub const PROCESSOR_LOG_GROUP: &str = "ProcessorLogGroupName";
