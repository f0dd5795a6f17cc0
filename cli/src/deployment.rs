//! The CLI's adapter to a deployed stack: its outputs (CloudFormation
//! `DescribeStacks`) and its processor's log lines (CloudWatch Logs
//! `FilterLogEvents`), for `subscribe`, `rotate-secret` and `doctor`. It lives
//! in the CLI crate, not in `shared`, so that the Lambdas' release build never
//! compiles these two SDKs (a `shared` feature would be unified into it).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudformation::error::DisplayErrorContext;
use shared::adapters::aws::SdkConfig;

pub use shared::config::stack_outputs::{
    EVENT_PLATFORM_REQUEST_URL, EVENTS_API_REQUEST_URL, PROCESSOR_LOG_GROUP, SIGNING_SECRETS_ARN,
    TENANT_PIMS_SECRET_ARN_OUTPUT, TENANTS_SECRET_ARN_OUTPUT,
};

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeploymentError {
    #[error("stack {stack}: {detail}")]
    Stack { stack: String, detail: String },
    #[error("stack {0} has no output {1} (deployed from an older template? `sam deploy` again)")]
    MissingOutput(String, &'static str),
    #[error("log group {group}: {detail}")]
    Logs { group: String, detail: String },
    #[error("{0} did not answer within {CALL_TIMEOUT:?}")]
    Timeout(&'static str),
}

/// A deployed stack's outputs, by key.
#[derive(Debug, Clone)]
pub struct StackOutputs {
    stack: String,
    outputs: HashMap<String, String>,
}

impl StackOutputs {
    pub async fn read(sdk: &SdkConfig, stack: &str) -> Result<StackOutputs, DeploymentError> {
        let client = aws_sdk_cloudformation::Client::new(sdk);
        let call = client.describe_stacks().stack_name(stack).send();
        let answer = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| DeploymentError::Timeout("CloudFormation"))?
            .map_err(|error| DeploymentError::Stack {
                stack: stack.to_owned(),
                detail: DisplayErrorContext(&error).to_string(),
            })?;
        let outputs = answer
            .stacks()
            .first()
            .map(|found| {
                found
                    .outputs()
                    .iter()
                    .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                    .collect()
            })
            .ok_or_else(|| DeploymentError::Stack {
                stack: stack.to_owned(),
                detail: "not found".into(),
            })?;
        Ok(StackOutputs {
            stack: stack.to_owned(),
            outputs,
        })
    }

    pub fn get(&self, key: &'static str) -> Result<&str, DeploymentError> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| DeploymentError::MissingOutput(self.stack.clone(), key))
    }
}

/// Whether a line of `group` written since `since` holds every one of `terms`.
/// Matched here rather than with a filter pattern, whose syntax treats
/// punctuation in an event id specially.
pub async fn log_line_exists(
    sdk: &SdkConfig,
    group: &str,
    since: SystemTime,
    terms: &[&str],
) -> Result<bool, DeploymentError> {
    let client = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let start = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut next: Option<String> = None;
    loop {
        let call = client
            .filter_log_events()
            .log_group_name(group)
            .start_time(start)
            .set_next_token(next.take())
            .send();
        let page = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| DeploymentError::Timeout("CloudWatch Logs"))?
            .map_err(|error| DeploymentError::Logs {
                group: group.to_owned(),
                detail: aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&error).to_string(),
            })?;
        let found = page
            .events()
            .iter()
            .filter_map(|event| event.message())
            .any(|message| terms.iter().all(|term| message.contains(term)));
        if found {
            return Ok(true);
        }
        match page.next_token() {
            Some(token) if !page.events().is_empty() => next = Some(token.to_owned()),
            _ => return Ok(false),
        }
    }
}
