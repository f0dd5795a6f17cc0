//! The idempotency store on one DynamoDB table (on-demand, TTL on
//! `expires_at`), with three actions: `PutItem` (claims, completions, entity
//! times), `DeleteItem` (releases) and `BatchGetItem` (a batch's entity times).
//!
//! Items, keyed by the string `k`:
//! - an event: `k` = `events-api#<event_id>` / `event-platform#<id>`,
//!   `state` = `in_progress` (with the `owner` of the claim) or `completed`;
//! - an entity: `k` = `entity#product/uuid/<uuid>` (and so on), `occurred_at_ns`,
//!   the newest handled event's time in nanoseconds since the epoch.
//!
//! Every item has `expires_at` (seconds since the epoch, the TTL attribute):
//! the end of an in-progress claim, or of the retention window. DynamoDB
//! deletes expired items only eventually, so every condition also treats an
//! item whose `expires_at` has passed as absent.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
pub use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValuesOnConditionCheckFailure};
use futures::future::{BoxFuture, try_join_all};
use time::OffsetDateTime;

use crate::ports::idempotency::{Claim, ClaimOutcome, IdempotencyStore, StoreError};

/// The table's partition key attribute (a string).
pub const KEY: &str = "k";
/// The table's TTL attribute: seconds since the epoch.
pub const EXPIRES_AT: &str = "expires_at";
const STATE: &str = "state";
const OWNER: &str = "owner";
const OCCURRED_AT: &str = "occurred_at_ns";
const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

/// BatchGetItem takes at most 100 keys.
const BATCH_GET_LIMIT: usize = 100;
/// Rounds of BatchGetItem for keys DynamoDB left unprocessed (throttling).
const BATCH_GET_ROUNDS: usize = 3;

/// Absent, or present but past its `expires_at` (TTL has not deleted it yet).
const FREE: &str = "attribute_not_exists(#k) OR #exp <= :now";

/// The processor's idempotency store on a DynamoDB table (see the module).
#[derive(Debug, Clone)]
pub struct DynamoDbIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoDbIdempotencyStore {
    /// A store on `table`, with a client from the shared SDK configuration.
    pub fn new(sdk_config: &SdkConfig, table: impl Into<String>) -> DynamoDbIdempotencyStore {
        DynamoDbIdempotencyStore {
            client: Client::new(sdk_config),
            table: table.into(),
        }
    }

    /// Over a client configured by the caller (another endpoint, in tests).
    pub fn with_client(client: Client, table: impl Into<String>) -> DynamoDbIdempotencyStore {
        DynamoDbIdempotencyStore {
            client,
            table: table.into(),
        }
    }

    /// The DynamoDB client it calls.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    async fn claim_item(&self, claim: Claim<'_>) -> Result<ClaimOutcome, StoreError> {
        let answer = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(claim.key))
            .item(STATE, s(IN_PROGRESS))
            .item(OWNER, s(claim.owner))
            .item(EXPIRES_AT, n(epoch_secs_ceil(claim.until)))
            .condition_expression(FREE)
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", n(epoch_secs(claim.now)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(SdkError::ServiceError(failure)) => match failure.into_err() {
                PutItemError::ConditionalCheckFailedException(taken) => {
                    let item = taken.item.unwrap_or_default();
                    match item.get(STATE).and_then(|v| v.as_s().ok()).map(String::as_str) {
                        Some(COMPLETED) => Ok(ClaimOutcome::Completed),
                        Some(IN_PROGRESS) => Ok(ClaimOutcome::InProgress {
                            until: UNIX_EPOCH + Duration::from_secs(number(&item, EXPIRES_AT)?),
                        }),
                        other => Err(StoreError::Invalid(format!(
                            "{} holds an item with state {other:?}",
                            claim.key
                        ))),
                    }
                }
                other => Err(unavailable(other)),
            },
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn complete_item(&self, key: &str, keep_until: SystemTime) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(STATE, s(COMPLETED))
            .item(EXPIRES_AT, n(epoch_secs_ceil(keep_until)))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn release_item(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .condition_expression("#state = :in_progress AND #owner = :owner")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            // Completed meanwhile, or taken over after our claim expired: not ours.
            Err(SdkError::ServiceError(failure))
                if matches!(failure.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn read_chunk(
        &self,
        entities: &[String],
        now: SystemTime,
    ) -> Result<HashMap<String, OffsetDateTime>, StoreError> {
        let keys = entities
            .iter()
            .map(|entity| HashMap::from([(KEY.to_owned(), s(entity))]))
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression("#k, #t, #exp")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#t", OCCURRED_AT)
                .expression_attribute_names("#exp", EXPIRES_AT)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        );
        let now = epoch_secs(now);
        let mut found = HashMap::new();
        for _ in 0..BATCH_GET_ROUNDS {
            let Some(keys) = request.take() else { break };
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let expires_at = i64::try_from(number(&item, EXPIRES_AT)?).unwrap_or(i64::MAX);
                if expires_at <= now {
                    continue;
                }
                let nanos: i128 = text(&item, OCCURRED_AT)?
                    .parse()
                    .map_err(|_| StoreError::Invalid(format!("{OCCURRED_AT} is not a whole number")))?;
                let occurred_at = OffsetDateTime::from_unix_timestamp_nanos(nanos)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                found.insert(text(&item, KEY)?.to_owned(), occurred_at);
            }
            request = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .filter(|keys| !keys.keys.is_empty());
        }
        if request.is_some() {
            return Err(StoreError::Unavailable(
                "DynamoDB left keys unprocessed (throttled)".into(),
            ));
        }
        Ok(found)
    }

    async fn record(
        &self,
        entity: &str,
        occurred_at: OffsetDateTime,
        now: SystemTime,
        keep_until: SystemTime,
    ) -> Result<(), StoreError> {
        let answer = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(entity))
            .item(OCCURRED_AT, n(occurred_at.unix_timestamp_nanos()))
            .item(EXPIRES_AT, n(epoch_secs_ceil(keep_until)))
            .condition_expression(format!("{FREE} OR #t <= :t"))
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#t", OCCURRED_AT)
            .expression_attribute_values(":now", n(epoch_secs(now)))
            .expression_attribute_values(":t", n(occurred_at.unix_timestamp_nanos()))
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            // A newer event about this entity is recorded: keep it.
            Err(SdkError::ServiceError(failure))
                if matches!(failure.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }
}

impl IdempotencyStore for DynamoDbIdempotencyStore {
    fn claim<'a>(&'a self, claim: Claim<'a>) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(self.claim_item(claim))
    }

    fn complete<'a>(&'a self, key: &'a str, keep_until: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.complete_item(key, keep_until))
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.release_item(key, owner))
    }

    fn last_handled<'a>(
        &'a self,
        entities: &'a [String],
        now: SystemTime,
    ) -> BoxFuture<'a, Result<HashMap<String, OffsetDateTime>, StoreError>> {
        Box::pin(async move {
            let chunks = entities
                .chunks(BATCH_GET_LIMIT)
                .map(|chunk| self.read_chunk(chunk, now));
            let found = try_join_all(chunks).await?;
            Ok(found.into_iter().flatten().collect())
        })
    }

    fn record_handled<'a>(
        &'a self,
        entity: &'a str,
        occurred_at: OffsetDateTime,
        now: SystemTime,
        keep_until: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.record(entity, occurred_at, now, keep_until))
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|value| value.as_s().or_else(|_| value.as_n()).ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Invalid(format!("an item has no {name}")))
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Result<u64, StoreError> {
    text(item, name)?
        .parse()
        .map_err(|_| StoreError::Invalid(format!("{name} is not a whole number")))
}

/// Whole seconds since the epoch, rounded down: "now".
fn epoch_secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whole seconds since the epoch, rounded up: an expiry is never earlier than asked.
fn epoch_secs_ceil(time: SystemTime) -> i64 {
    let whole = epoch_secs(time);
    let exact = time
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|d| d.subsec_nanos() == 0);
    if exact { whole } else { whole.saturating_add(1) }
}

/// The SDK's error with its causes, for logs.
fn unavailable(error: impl std::error::Error + 'static) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(&error).to_string())
}
