//! `serve --event-bus` against moto's EventBridge, wired as a team would: a
//! rule on the bus sends product updates to the team's queue.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Serve;

const SECRET: &str = "publishing-event-platform-secret";
const OWN_USER: &str = "7d3c0e4a-2b1f-4c5d-8e9f-0a1b2c3d4e5f";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

async fn sdk() -> shared::adapters::aws::SdkConfig {
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts moto");
    shared::adapters::aws::sdk_config().await
}

/// A bus, a rule on it for `product.updated`, and the queue it targets.
async fn bus_with_rule_to_queue(name: &str) -> (String, String) {
    let sdk = sdk().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = format!("{name}-{}", std::process::id());
    events.create_event_bus().name(&bus).send().await.expect("a bus");
    let pattern = json!({"source": ["akeneo.pim"], "detail-type": ["product.updated"]});
    events
        .put_rule()
        .name(&bus)
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("a rule");
    let queue_url = sqs
        .create_queue()
        .queue_name(&bus)
        .send()
        .await
        .expect("a queue")
        .queue_url
        .expect("its URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("its attributes")
        .attributes
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .expect("its ARN");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("team-queue")
        .arn(arn)
        .build()
        .expect("a target");
    events
        .put_targets()
        .rule(&bus)
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .expect("the target");
    (bus, queue_url)
}

async fn drain(queue_url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .map(|body| serde_json::from_str(body).expect("an EventBridge entry"))
        .collect()
}

fn event(event_id: &str, kind: &str, author: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{event_id}","type":"com.akeneo.pim.v1.product.{kind}","source":"pim","subject":"sub-1","time":"2026-12-07T10:00:00Z","data":{{"product":{{"uuid":"uuid-{event_id}"}},"author":{{"identifier":"{author}","type":"api"}}}}}}"#
    )
}

fn deliver(serve: &Serve, body: &str) -> u16 {
    let mut head = format!(
        "POST /event-platform HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/cloudevents+json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in shared::core::signature::event_platform::headers(SECRET, None, body.as_bytes()) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    serve.raw(format!("{head}{body}").as_bytes())
}

#[test]
fn serve_publishes_an_update_once_and_never_a_duplicate_or_an_own_event() {
    // GIVEN a bus whose rule sends product updates to a team's queue, and serve publishing to it
    let runtime = runtime();
    let (bus, team_queue) = runtime.block_on(bus_with_rule_to_queue("serve-publishing"));
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("moto");
    let serve = Serve::start(
        &[
            "--event-platform-secret",
            SECRET,
            "--event-bus",
            &bus,
            "--ignore-author",
            OWN_USER,
        ],
        None,
        &[("AWS_ENDPOINT_URL", endpoint.as_str())],
    );
    // WHEN an update is delivered twice, an update by the relay's own connection, and a deletion
    let update = event("pub-1", "updated", "julia");
    for body in [
        update.clone(),
        update.clone(),
        event("pub-own", "updated", OWN_USER),
        event("pub-deleted", "deleted", "julia"),
    ] {
        assert_eq!(deliver(&serve, &body), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while serve.log_lines_with("message processed").len() < 4 {
        assert!(
            Instant::now() < deadline,
            "not all processed:\n{}",
            serve.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // THEN the team's queue holds the update once, as the documented document
    let entries = runtime.block_on(drain(&team_queue));
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["source"], "akeneo.pim");
    assert_eq!(entries[0]["detail-type"], "product.updated");
    let detail = &entries[0]["detail"];
    assert_eq!(detail["version"], 1);
    assert_eq!(detail["event_id"], "pub-1");
    assert_eq!(
        detail["event"],
        serde_json::from_str::<Value>(&update).expect("json")
    );
    // AND every message was done: published, or skipped as a duplicate or an own event
    let outcomes: Vec<Value> = serve
        .log_lines_with("message processed")
        .iter()
        .map(|line| line["outcome"].clone())
        .collect();
    assert!(outcomes.iter().all(|o| o == "done"), "{outcomes:?}");
}
