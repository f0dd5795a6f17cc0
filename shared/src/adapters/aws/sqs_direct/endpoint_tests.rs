//! The endpoint every call posts to, resolved once as the SDK's SQS client
//! would resolve it.

use aws_config::{Region, SdkConfig};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use super::resolve_endpoint;

/// Configuration as `AWS_ENDPOINT_URL_SQS` (or a profile's `services`
/// section) gives it: one value for SQS only.
#[derive(Debug)]
struct SqsOnly(&'static str);

impl LoadServiceConfig for SqsOnly {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == "SQS" && key.env() == "AWS_ENDPOINT_URL").then(|| self.0.to_owned())
    }
}

#[derive(Debug)]
struct Nothing;

impl LoadServiceConfig for Nothing {
    fn load_config(&self, _: ServiceConfigKey<'_>) -> Option<String> {
        None
    }
}

#[tokio::test]
async fn a_region_alone_resolves_to_the_regional_sqs_endpoint() {
    // GIVEN only a region, as in Lambda
    let sdk = SdkConfig::builder().region(Region::new("eu-west-1")).build();
    // WHEN the endpoint is resolved
    let endpoint = resolve_endpoint(&sdk, "eu-west-1").await.expect("endpoint");
    // THEN it is SQS's regional endpoint, posted to at its root
    assert_eq!(endpoint, "https://sqs.eu-west-1.amazonaws.com/");
}

#[tokio::test]
async fn fips_resolves_to_the_fips_endpoint() {
    // GIVEN a FIPS configuration
    let sdk = SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .use_fips(true)
        .build();
    // WHEN the endpoint is resolved
    let endpoint = resolve_endpoint(&sdk, "us-east-1").await.expect("endpoint");
    // THEN it is the FIPS endpoint the SDK would use
    assert_eq!(endpoint, "https://sqs-fips.us-east-1.amazonaws.com/");
}

#[tokio::test]
async fn an_sqs_specific_endpoint_wins_over_the_global_one() {
    // GIVEN AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL both configured
    let sdk = SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .endpoint_url("http://everything.local:4566")
        .service_config(SqsOnly("http://sqs.local:9324"))
        .build();
    // WHEN the endpoint is resolved
    let endpoint = resolve_endpoint(&sdk, "us-east-1").await.expect("endpoint");
    // THEN SQS's own is used, as by the SDK's SQS client
    assert_eq!(endpoint, "http://sqs.local:9324/");
}

#[tokio::test]
async fn without_an_sqs_specific_endpoint_the_global_one_is_used() {
    // GIVEN only AWS_ENDPOINT_URL (moto, LocalStack)
    let sdk = SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:5555")
        .service_config(Nothing)
        .build();
    // WHEN the endpoint is resolved
    let endpoint = resolve_endpoint(&sdk, "us-east-1").await.expect("endpoint");
    // THEN it is that one
    assert_eq!(endpoint, "http://127.0.0.1:5555/");
}
