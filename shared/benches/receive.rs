//! One request's in-process cost: verify the signature, split the events, build
//! the queue messages and pack them into SendMessageBatch calls. No network.
//! Targets (one core): 150 µs for 10 events / 25 KB, 1.5 ms for 10 events / 200 KB.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akeneo_event_relay::Protocol;
use akeneo_event_relay::adapters::embedded::EmbeddedQueue;
use akeneo_event_relay::core::delivery::batch::pack;
use akeneo_event_relay::core::receiver::{Receiver, RouteSecrets, SecretStore};
use akeneo_event_relay::core::signature::{Secrets, events_api};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderName, HeaderValue};

const SECRET: &str = "3ha6eonoa9icsckw8kccos084w0c0000g08g40oo4kww0gc8w4";
const SENT_AT: u64 = 1_602_565_368;

/// A compact Events API product event (as the PIM's encoder writes it) of about
/// `target` bytes: the fixture's product with extra text values.
fn product_event(index: usize, target: usize) -> String {
    let mut values = String::new();
    let mut n = 0;
    while values.len() + 700 < target {
        values.push_str(&format!(
            r#""description_{n}":[{{"locale":"en_US","scope":"ecommerce","data":"<p>Sunglasses \u00e9t\u00e9 model {n}: UV400 lenses, acetate frame, case included. https:\/\/example.com\/p\/{n}</p>"}}],"#
        ));
        n += 1;
    }
    format!(
        concat!(
            r#"{{"action":"product.updated","event_id":"6ad821d8-2468-4632-89d2-92e442c7{:04}","#,
            r#""event_datetime":"2020-10-20T09:13:59+00:00","author":"erp","author_type":"api","#,
            r#""pim_source":"https:\/\/demo.akeneo.com","data":{{"resource":{{"uuid":"1fd20ad8-ef95-49d7-a581-fb9f8ac0c500","#,
            r#""identifier":"111111{:04}","family":"accessories","parent":null,"groups":[],"categories":["master_accessories_sunglasses"],"#,
            r#""enabled":true,"values":{{{}"name":[{{"locale":null,"scope":null,"data":"Sunglasses"}}]}},"#,
            r#""created":"2020-10-13T10:05:12+00:00","updated":"2020-10-20T09:13:59+00:00","associations":{{}},"quantified_associations":[]}}}}}}"#
        ),
        index, index, values
    )
}

fn events_api_body(events: usize, bytes_each: usize) -> Vec<u8> {
    let events: Vec<String> = (0..events).map(|i| product_event(i, bytes_each)).collect();
    format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
}

fn signed_headers(body: &[u8]) -> HeaderMap {
    events_api::headers(SECRET, SENT_AT, body)
        .into_iter()
        .map(|(name, value)| {
            let value = HeaderValue::from_str(&value).expect("ASCII");
            (HeaderName::from_static(name), value)
        })
        .collect()
}

fn receive(c: &mut Criterion) {
    let secrets = SecretStore::fixed(RouteSecrets {
        events_api: Secrets::new([SECRET]),
        ..RouteSecrets::default()
    });
    // The benchmark never sends: `prepare` stops before the queue.
    let queue = EmbeddedQueue::new("unused", Duration::from_secs(30));
    let receiver = Receiver::new(queue, secrets, 300);
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(SENT_AT);

    let mut group = c.benchmark_group("receive");
    for (name, events, bytes_each) in [
        ("1 event", 1, 4_300),
        ("10 events 25KB", 10, 2_500),
        ("10 events 200KB", 10, 20_000),
    ] {
        let body = events_api_body(events, bytes_each);
        let headers = signed_headers(&body);
        // Fail loudly if the body is not what the label says.
        let prepared = receiver
            .prepare(Protocol::EventsApi, &headers, &body, now)
            .expect("valid request");
        assert_eq!(prepared.messages.len(), events);
        eprintln!("{name}: body {} bytes", body.len());

        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let prepared = receiver
                    .prepare(Protocol::EventsApi, black_box(&headers), black_box(&body), now)
                    .expect("valid request");
                let all: Vec<usize> = (0..prepared.messages.len()).collect();
                black_box(pack(&prepared.messages, &all));
                prepared
            })
        });
    }
    group.finish();
}

criterion_group!(benches, receive);
criterion_main!(benches);
