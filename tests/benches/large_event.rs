//! The receiver's added time for a large event: one Event Platform request
//! through the receiver's Function URL handling against moto, for a small
//! event (queued), an event just under SQS's 1 MiB (queued), and a 2 MB event
//! (stored in S3, a pointer queued). Needs moto: `AWS_ENDPOINT_URL` as in
//! `scripts/test`.

// The test support, shared with the suite; the bench uses part of it.
#[allow(dead_code, unused_imports)]
#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::adapters::aws::s3::S3PayloadStore;

use support::akeneo::event_platform_headers;
use support::app::{EP_PRIMARY, ReceiverApp};
use support::{fixture, function_url, moto};

/// A product event whose description makes the body `size` bytes, about.
fn event_of(size: usize) -> Vec<u8> {
    let head = r#"{"specversion":"1.0","id":"bench-large","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"bench","time":"2026-11-23T10:00:00Z","data":{"product":{"uuid":"6a9f8486-2c36-4680-b87f-6f5f8f01b6cf","values":{"description":[{"locale":"fr_FR","data":""#;
    let tail = r#""}]}}}}"#;
    let text = "Lunettes d'\\u00e9t\\u00e9 ".repeat(size.saturating_sub(head.len() + tail.len()) / 24 + 1);
    format!("{head}{text}{tail}").into_bytes()
}

fn large_event(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = runtime.block_on(async {
        let s3 = moto::s3().await;
        let bucket = moto::create_bucket(&s3, "bench-large").await;
        let store = S3PayloadStore::new(&moto::sdk().await, bucket);
        ReceiverApp::start("bench-large")
            .await
            .storing_large_events_in(store)
    });
    let cases = [
        (
            "small event (queued)",
            fixture("event-platform/product.updated.json"),
        ),
        ("900 KB event (queued)", event_of(900_000)),
        ("2 MB event (stored in S3, pointer queued)", event_of(2_000_000)),
    ];
    let mut group = c.benchmark_group("receive/event platform");
    // Each iteration leaves a message (and for 2 MB an object) in moto:
    // few samples keep its memory in check.
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, body) in &cases {
        let headers = event_platform_headers(&[EP_PRIMARY], body);
        let request = function_url::request("POST", "/event-platform", &headers, body, false);
        let answer = runtime.block_on(app.send(&request));
        assert_eq!(answer.status, 200, "{name}: {:?}", answer.body);
        group.bench_function(*name, |b| b.iter(|| runtime.block_on(app.send(&request))));
    }
    group.finish();
}

criterion_group!(benches, large_event);
criterion_main!(benches);
