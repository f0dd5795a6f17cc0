//! The enrichment and own-event steps through `process_batch`, with a scripted
//! PIM reader: what is read, how often, and what the business logic gets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::core::message::{EventFields, OutboundMessage};
use crate::core::processor::own_events::OwnAuthors;
use crate::core::processor::{Disposition, Processor, Settings};
use crate::core::protocol::Protocol;
use crate::ports::handler::{EventHandler, Outcome};
use crate::ports::pim::{Found, PimReadError, PimReader, TenantPims, TenantReader};
use crate::ports::queue::ReceivedMessage;
use crate::testing::{Behaviour, MemoryQueue, MemoryVisibility};
use crate::{Current, PimEvent};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Known,
    Down,
    Hang,
}

/// A PIM that knows the entities listed, fails or hangs; records each read.
struct ScriptedPim {
    known: Vec<String>,
    answer: Answer,
    reads: Mutex<Vec<(&'static str, Vec<String>)>>,
}

impl ScriptedPim {
    fn knowing(known: &[&str]) -> Arc<ScriptedPim> {
        Arc::new(ScriptedPim {
            known: known.iter().map(|k| k.to_string()).collect(),
            answer: Answer::Known,
            reads: Mutex::new(Vec::new()),
        })
    }

    fn answering(answer: Answer) -> Arc<ScriptedPim> {
        Arc::new(ScriptedPim {
            known: Vec::new(),
            answer,
            reads: Mutex::new(Vec::new()),
        })
    }

    fn reads(&self) -> Vec<(&'static str, Vec<String>)> {
        self.reads.lock().expect("lock").clone()
    }

    fn read(&self, kind: &'static str, keys: &[String]) -> BoxFuture<'_, Result<Found, PimReadError>> {
        self.reads.lock().expect("lock").push((kind, keys.to_vec()));
        let answer = self.answer;
        let found: Found = keys
            .iter()
            .filter(|key| self.known.contains(key))
            .map(|key| {
                let json = format!(r#"{{"{kind}":"{key}"}}"#);
                (key.clone(), Arc::from(RawValue::from_string(json).expect("json")))
            })
            .collect();
        Box::pin(async move {
            match answer {
                Answer::Known => Ok(found),
                Answer::Down => Err(PimReadError::Unavailable("503 Service Unavailable".into())),
                Answer::Hang => std::future::pending().await,
            }
        })
    }
}

impl PimReader for ScriptedPim {
    fn products<'a>(&'a self, uuids: &'a [String], _: Instant) -> BoxFuture<'a, Result<Found, PimReadError>> {
        self.read("uuid", uuids)
    }

    fn product_models<'a>(
        &'a self,
        codes: &'a [String],
        _: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>> {
        self.read("code", codes)
    }
}

/// Records what each event was given: "found <json>", "gone" or "none".
#[derive(Default)]
struct Recording {
    seen: Mutex<HashMap<String, String>>,
}

impl Recording {
    fn seen(&self) -> HashMap<String, String> {
        self.seen.lock().expect("lock").clone()
    }
}

impl EventHandler for Recording {
    async fn handle(&self, event: &PimEvent) -> Outcome {
        let given = match &event.current {
            Some(Current::Found(raw)) => format!("found {}", raw.get()),
            Some(Current::Gone) => "gone".into(),
            None => "none".into(),
        };
        let id = event.id.clone().unwrap_or_default();
        self.seen.lock().expect("lock").insert(id, given);
        Outcome::Done
    }
}

/// An Event Platform event's queue message: `kind` is `product.updated`,
/// `product-model.created`, ...; `key` its uuid or code.
fn message(id: &str, kind: &str, key: &str, author: &str) -> ReceivedMessage {
    let (entity, _) = kind.split_once('.').expect("entity.action");
    let (object, field) = match entity {
        "product" => ("product", "uuid"),
        "product-model" => ("product_model", "code"),
        other => (other, "code"),
    };
    let kind = format!("com.akeneo.pim.v1.{kind}");
    let raw = format!(
        r#"{{"id":"{id}","type":"{kind}","data":{{"{object}":{{"{field}":"{key}"}},"author":{{"identifier":"{author}","type":"api"}}}}}}"#
    );
    let fields = EventFields {
        id: Some(id.into()),
        kind: Some(kind),
        occurred_at: Some("2024-01-01T00:00:00Z".into()),
        source: Some("sub-1".into()),
    };
    ReceivedMessage {
        message_id: format!("m-{id}"),
        receipt_handle: Some(format!("rh-{id}")),
        body: Some(OutboundMessage::build(Protocol::EventPlatform, &raw, &fields, "t").body),
        receive_count: 1,
        attributes: HashMap::new(),
    }
}

fn product(id: &str, uuid: &str) -> ReceivedMessage {
    message(id, "product.updated", uuid, "julia")
}

type TestProcessor = Processor<Recording, MemoryQueue, MemoryVisibility>;

fn processor() -> TestProcessor {
    Processor::new(
        Recording::default(),
        MemoryQueue::new(Behaviour::Accept),
        MemoryVisibility::default(),
        Settings::default(),
    )
}

fn enriching(pim: &Arc<ScriptedPim>) -> TestProcessor {
    processor().with_pim(Arc::clone(pim) as Arc<dyn PimReader>, Duration::from_secs(5))
}

#[tokio::test]
async fn ten_product_events_are_read_in_one_call_and_each_gets_its_product() {
    // GIVEN a PIM that knows ten products, and a batch of their ten events
    let uuids: Vec<String> = (0..10).map(|i| format!("uuid-{i}")).collect();
    let known: Vec<&str> = uuids.iter().map(String::as_str).collect();
    let pim = ScriptedPim::knowing(&known);
    let batch: Vec<_> = uuids
        .iter()
        .enumerate()
        .map(|(i, u)| product(&format!("e{i}"), u))
        .collect();
    let processor = enriching(&pim);
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN one read named the ten uuids, and each event was handled with its product
    assert_eq!(pim.reads(), [("uuid", uuids.clone())]);
    assert!(dispositions.iter().all(|d| *d == Disposition::Done));
    let seen = processor.handler().seen();
    for (i, uuid) in uuids.iter().enumerate() {
        assert_eq!(seen[&format!("e{i}")], format!(r#"found {{"uuid":"{uuid}"}}"#));
    }
}

#[tokio::test]
async fn two_events_for_one_product_read_it_once_and_both_get_it() {
    // GIVEN two events for one product (its uuid once in upper case)
    let pim = ScriptedPim::knowing(&["6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"]);
    let processor = enriching(&pim);
    let batch = [
        product("first", "6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"),
        product("second", "6A9F8486-2C36-4680-B87F-6F5F8F01B6CF"),
    ];
    // WHEN the batch is processed
    processor.process_batch(&batch).await;
    // THEN the uuid was read once, and both events got the product
    assert_eq!(
        pim.reads(),
        [("uuid", vec!["6a9f8486-2c36-4680-b87f-6f5f8f01b6cf".to_owned()])]
    );
    let seen = processor.handler().seen();
    let expected = r#"found {"uuid":"6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"}"#;
    assert_eq!(seen["first"], expected);
    assert_eq!(seen["second"], expected);
}

#[tokio::test]
async fn a_product_the_pim_no_longer_has_is_given_as_gone() {
    // GIVEN a PIM that knows p1 but not p2
    let pim = ScriptedPim::knowing(&["p1"]);
    let processor = enriching(&pim);
    // WHEN events for both are processed
    let dispositions = processor
        .process_batch(&[product("e1", "p1"), product("e2", "p2")])
        .await;
    // THEN both are handled, p2's as gone
    assert!(dispositions.iter().all(|d| *d == Disposition::Done));
    assert_eq!(processor.handler().seen()["e2"], "gone");
}

#[tokio::test]
async fn product_models_are_read_by_code_in_their_own_call() {
    // GIVEN a product event and two product model events
    let pim = ScriptedPim::knowing(&["p1", "jacket"]);
    let processor = enriching(&pim);
    let batch = [
        product("e1", "p1"),
        message("e2", "product-model.updated", "jacket", "julia"),
        message("e3", "product-model.created", "boots", "julia"),
    ];
    // WHEN the batch is processed
    processor.process_batch(&batch).await;
    // THEN one read per kind, and each model event got its model or gone
    let mut reads = pim.reads();
    reads.sort();
    assert_eq!(
        reads,
        [
            ("code", vec!["jacket".to_owned(), "boots".to_owned()]),
            ("uuid", vec!["p1".to_owned()])
        ]
    );
    let seen = processor.handler().seen();
    assert_eq!(seen["e2"], r#"found {"code":"jacket"}"#);
    assert_eq!(seen["e3"], "gone");
}

#[tokio::test]
async fn deletions_and_other_entities_are_not_read() {
    // GIVEN a product deletion and a category event
    let pim = ScriptedPim::knowing(&[]);
    let processor = enriching(&pim);
    let batch = [
        message("e1", "product.deleted", "p1", "julia"),
        message("e2", "category.created", "shoes", "julia"),
    ];
    // WHEN the batch is processed
    processor.process_batch(&batch).await;
    // THEN nothing is read and both are handled without a current state
    assert!(pim.reads().is_empty());
    let seen = processor.handler().seen();
    assert_eq!((seen["e1"].as_str(), seen["e2"].as_str()), ("none", "none"));
}

#[tokio::test]
async fn with_the_pim_down_its_events_are_retried_and_no_handler_runs_for_them() {
    // GIVEN a PIM that fails, a product event and a category event
    let pim = ScriptedPim::answering(Answer::Down);
    let processor = enriching(&pim);
    let batch = [
        product("e1", "p1"),
        message("e2", "category.created", "shoes", "julia"),
    ];
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN the product event is retried unhandled, and the category event is handled
    assert!(
        matches!(&dispositions[0], Disposition::Retried { reason, .. } if reason.contains("503")),
        "{dispositions:?}"
    );
    assert_eq!(dispositions[1], Disposition::Done);
    assert_eq!(processor.handler().seen().keys().collect::<Vec<_>>(), ["e2"]);
}

#[tokio::test(start_paused = true)]
async fn a_pim_that_never_answers_retries_its_events_when_the_budget_is_spent() {
    // GIVEN a PIM that hangs and a budget of 5 s
    let pim = ScriptedPim::answering(Answer::Hang);
    let processor = enriching(&pim);
    let started = Instant::now();
    // WHEN a product event is processed
    let dispositions = processor.process_batch(&[product("e1", "p1")]).await;
    // THEN it is retried after exactly the budget, without running the handler
    assert!(matches!(dispositions[0], Disposition::Retried { .. }));
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(processor.handler().seen().is_empty());
}

#[tokio::test]
async fn own_events_are_skipped_before_anything_is_read() {
    // GIVEN the relay's connection relay_1234 whose user is 7d3c0e4a-…, the
    // Event Platform event it caused (authored by that UUID, as Akeneo sends it) and julia's
    let pim = ScriptedPim::knowing(&["p1", "p2"]);
    let own = OwnAuthors::connection(
        "relay_1234",
        "client-1",
        Some("7d3c0e4a-2b1f-4c5d-8e9f-0a1b2c3d4e5f"),
    );
    let processor = enriching(&pim).with_own_authors(own);
    let batch = [
        message(
            "own",
            "product.updated",
            "p1",
            "7d3c0e4a-2b1f-4c5d-8e9f-0a1b2c3d4e5f",
        ),
        product("theirs", "p2"),
    ];
    // WHEN the batch is processed
    let dispositions = processor.process_batch(&batch).await;
    // THEN the own event is done without a handler call or a read of p1
    assert_eq!(dispositions, [Disposition::Done, Disposition::Done]);
    assert_eq!(processor.handler().seen().keys().collect::<Vec<_>>(), ["theirs"]);
    assert_eq!(pim.reads(), [("uuid", vec!["p2".to_owned()])]);
}

#[tokio::test]
async fn ignored_authors_work_without_a_pim() {
    // GIVEN no PIM and an ignored author erp_sync
    let processor = processor().with_ignored_authors(["erp_sync".to_owned()]);
    // WHEN its event and another are processed
    processor
        .process_batch(&[
            message("erp", "product.updated", "p1", "erp_sync"),
            product("other", "p2"),
        ])
        .await;
    // THEN only the other is handled, without a current state
    assert_eq!(
        processor.handler().seen(),
        HashMap::from([("other".to_owned(), "none".to_owned())])
    );
}

/// acme and beta each with their own PIM, gamma without one.
struct Tenants {
    acme: Arc<ScriptedPim>,
    beta: Arc<ScriptedPim>,
}

impl TenantPims for Tenants {
    fn reader(&self, tenant: &str) -> TenantReader {
        match tenant {
            "acme" => TenantReader::Connected(Arc::clone(&self.acme) as Arc<dyn PimReader>),
            "beta" => TenantReader::Connected(Arc::clone(&self.beta) as Arc<dyn PimReader>),
            "gamma" => TenantReader::NoConnection,
            _ => TenantReader::Unknown,
        }
    }
}

/// `product(id, uuid)` received on `tenant`'s route.
fn tenant_product(tenant: &str, id: &str, uuid: &str) -> ReceivedMessage {
    let mut message = product(id, uuid);
    let event = PimEvent::from_message_body(message.body.as_deref().expect("body")).expect("envelope");
    let fields = EventFields {
        id: event.id.clone(),
        kind: event.event_type.clone(),
        occurred_at: Some("2024-01-01T00:00:00Z".into()),
        source: Some("sub-1".into()),
    };
    message.body = Some(
        OutboundMessage::build_for_tenant(
            Some(tenant),
            Protocol::EventPlatform,
            event.raw.get(),
            &fields,
            "t",
        )
        .body,
    );
    message
}

#[tokio::test]
async fn each_tenants_events_are_read_from_its_own_pim() {
    // GIVEN two tenants' PIMs that both know product u-1, each as its own
    let tenants = Arc::new(Tenants {
        acme: ScriptedPim::knowing(&["u-1"]),
        beta: ScriptedPim::knowing(&["u-1", "u-2"]),
    });
    let processor = processor().with_tenant_pims(
        Arc::clone(&tenants) as Arc<dyn TenantPims>,
        Duration::from_secs(5),
    );
    // WHEN a batch mixes their events, and one of gamma's, which has no PIM
    let batch = [
        tenant_product("acme", "a1", "u-1"),
        tenant_product("beta", "b1", "u-1"),
        tenant_product("beta", "b2", "u-2"),
        tenant_product("gamma", "g1", "u-1"),
    ];
    let dispositions = processor.process_batch(&batch).await;
    // THEN each PIM was asked for its own tenant's products only, and gamma's event has none
    assert_eq!(tenants.acme.reads(), [("uuid", vec!["u-1".to_owned()])]);
    assert_eq!(
        tenants.beta.reads(),
        [("uuid", vec!["u-1".to_owned(), "u-2".to_owned()])]
    );
    assert!(dispositions.iter().all(|d| *d == Disposition::Done));
    assert_eq!(processor.handler().seen()["g1"], "none");
}

#[tokio::test]
async fn an_unknown_tenants_events_are_retried_and_never_read_from_another_pim() {
    // GIVEN a processor with its own PIM and acme's
    let own = ScriptedPim::knowing(&["u-1"]);
    let tenants = Arc::new(Tenants {
        acme: ScriptedPim::knowing(&["u-1"]),
        beta: ScriptedPim::knowing(&[]),
    });
    let processor = enriching(&own).with_tenant_pims(
        Arc::clone(&tenants) as Arc<dyn TenantPims>,
        Duration::from_secs(5),
    );
    // WHEN an event of a tenant it does not know comes
    let dispositions = processor
        .process_batch(&[tenant_product("delta", "d1", "u-1")])
        .await;
    // THEN it is retried, naming the tenant, and no PIM was read
    assert!(
        matches!(&dispositions[0], Disposition::Retried { reason, .. } if reason.contains("delta")),
        "{dispositions:?}"
    );
    assert!(own.reads().is_empty() && tenants.acme.reads().is_empty());
}
