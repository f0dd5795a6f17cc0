//! A real SQS, Secrets Manager and DynamoDB API: moto, started by `scripts/test`. Without
//! it the tests fail rather than skip: a suite that silently skips its AWS tests
//! proves nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use serde_json::json;
use shared::adapters::aws::SdkConfig;
use shared::adapters::aws::s3::S3PayloadStore;

/// The SDK configuration pointing at moto.
pub async fn sdk() -> SdkConfig {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts a local AWS API (moto)",
    );
    shared::adapters::aws::sdk_config().await
}

pub async fn sqs() -> Client {
    Client::new(&sdk().await)
}

/// A name no other test of this run uses, so tests can run in parallel.
fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh queue per test.
pub async fn create_queue(client: &Client, name: &str) -> String {
    let name = unique(name);
    let created = client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("moto creates queues");
    created.queue_url.expect("queue url")
}

/// An S3 client on moto (path-style addressing, as the relay's store uses
/// against a custom endpoint).
pub async fn s3() -> aws_sdk_s3::Client {
    S3PayloadStore::new(&sdk().await, "").client().clone()
}

/// A fresh bucket per test.
pub async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("moto creates buckets");
    name
}

/// An object's bytes, or `None` if it is not there.
pub async fn object(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let output = client.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(output.body.collect().await.expect("object body").to_vec())
}

/// A queue with a dead-letter queue behind it, as the template deploys them.
pub async fn create_queue_with_dlq(client: &Client, name: &str, max_receive_count: u32) -> (String, String) {
    let dlq = create_queue(client, &format!("{name}-dlq")).await;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dlq arn")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("arn");
    let queue = create_queue(client, name).await;
    let redrive = json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count.to_string()});
    client
        .set_queue_attributes()
        .queue_url(&queue)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .expect("redrive policy");
    (queue, dlq)
}

/// Receives up to ten messages, hiding them for `visibility_secs`.
pub async fn receive(client: &Client, queue_url: &str, visibility_secs: i32) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_secs)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receive from moto")
        .messages
        .unwrap_or_default()
}

/// Every message on the queue, received (and so hidden) once each.
pub async fn drain(client: &Client, queue_url: &str) -> Vec<Message> {
    let mut all = Vec::new();
    loop {
        let batch = receive(client, queue_url, 30).await;
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// (visible, hidden) message counts.
pub async fn queue_counts(client: &Client, queue_url: &str) -> (u64, u64) {
    use QueueAttributeName::{ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible};
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let count = |name| attributes.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0);
    (
        count(ApproximateNumberOfMessages),
        count(ApproximateNumberOfMessagesNotVisible),
    )
}

pub fn string_attribute(message: &Message, name: &str) -> Option<String> {
    message
        .message_attributes
        .as_ref()?
        .get(name)?
        .string_value
        .clone()
}

/// An endpoint where nothing listens: connections are refused at once.
pub fn refused_endpoint() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    endpoint
}

/// An endpoint that accepts connections and never answers, like a black hole.
pub async fn hanging_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    endpoint
}

/// A fresh idempotency table, as the template creates it: on-demand, keyed by
/// the string `k`, TTL on `expires_at`.
pub async fn create_idempotency_table(name: &str) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    use shared::adapters::aws::dynamodb::{EXPIRES_AT, KEY};
    let client = aws_sdk_dynamodb::Client::new(&sdk().await);
    let table = unique(name);
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(KEY)
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("moto creates tables");
    client
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("moto enables TTL");
    table
}

/// A Secrets Manager secret holding `document`, named uniquely; answers its ARN.
pub async fn create_secret(name: &str, document: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk().await);
    let name = unique(name);
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(document)
        .send()
        .await
        .expect("moto creates secrets");
    created.arn.expect("arn")
}

/// A fresh EventBridge bus with a rule sending the entries of `detail_types`
/// (source `akeneo.pim`) to a fresh queue: answers the bus name and the
/// queue's URL, as a team would wire its consumer.
pub async fn create_bus_with_rule_to_queue(name: &str, detail_types: &[&str]) -> (String, String) {
    let events = aws_sdk_eventbridge::Client::new(&sdk().await);
    let bus = unique(name);
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("moto creates buses");
    let pattern = json!({"source": ["akeneo.pim"], "detail-type": detail_types});
    events
        .put_rule()
        .name(format!("{bus}-rule"))
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("moto creates rules");
    let sqs = sqs().await;
    let queue_url = create_queue(&sqs, &format!("{name}-target")).await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(queue_arn)
        .build()
        .expect("a target");
    events
        .put_targets()
        .rule(format!("{bus}-rule"))
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .expect("moto adds targets");
    (bus, queue_url)
}
