//! The HTTPS forwarder inside the processor, against an endpoint that takes
//! its time: it never has more requests in flight than its limit, reaches
//! that limit when there is work for it, and sends one product's events one
//! after another, in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::adapters::webhook::WebhookForwarder;
use shared::core::destination::standard_webhooks::SigningKey;
use shared::core::processor::{Disposition, Processor, Settings};
use shared::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::events;

/// What the endpoint saw: the most requests at once, and each product's
/// webhook ids in the order they arrived.
#[derive(Default)]
struct Seen {
    in_flight: AtomicUsize,
    most: AtomicUsize,
    order: Mutex<HashMap<String, Vec<String>>>,
}

/// An HTTP/1.1 endpoint (keep-alive) that holds each request 20 ms, then 204.
async fn slow_endpoint(seen: Arc<Seen>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/akeneo", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    let mut id = String::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(value) = lower.strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        if let Some(value) = lower.strip_prefix("webhook-id:") {
                            id = value.trim().to_owned();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    seen.most.fetch_max(now, Ordering::SeqCst);
                    let document: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
                    let uuid = document["keys"]["uuid"].as_str().unwrap_or_default().to_owned();
                    seen.order.lock().expect("lock").entry(uuid).or_default().push(id);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
                    let answer = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                    if stream.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forwarder_holds_its_concurrency_limit_exactly_and_one_products_events_in_order() {
    // GIVEN a processor running ten messages at a time, forwarding with a limit of 3
    let seen = Arc::new(Seen::default());
    let url = slow_endpoint(Arc::clone(&seen)).await;
    let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a key");
    let forwarder = WebhookForwarder::new(&url, key, 3, Duration::from_secs(5)).expect("a forwarder");
    let processor = Processor::new(
        forwarder,
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    );
    // WHEN a batch of 40 events about 8 products, 5 each, is processed
    let batch: Vec<_> = (0..40)
        .map(|n| events::product_updated(&format!("e-{n:02}"), &format!("uuid-{}", n % 8)))
        .collect();
    let dispositions = processor.process_batch(&batch).await;
    // THEN every event was forwarded, with never more than 3 requests at once and 3 at the busiest
    assert!(
        dispositions.iter().all(|d| *d == Disposition::Done),
        "{dispositions:?}"
    );
    assert_eq!(seen.most.load(Ordering::SeqCst), 3);
    // AND each product's events arrived in the order they were queued
    let order = seen.order.lock().expect("lock");
    assert_eq!(order.len(), 8);
    for (uuid, ids) in order.iter() {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, &sorted, "{uuid}");
        assert_eq!(ids.len(), 5, "{uuid}");
    }
}
