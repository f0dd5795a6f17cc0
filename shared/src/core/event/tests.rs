//! Every fixture through the receiver's envelope and back into a `PimEvent`.

use super::*;
use crate::core::body::split_events;
use crate::core::message::OutboundMessage;
use crate::testing::fixture;

/// The events of a fixture as the processor sees them: split, enveloped, read.
fn events_of(protocol: Protocol, file: &str) -> Vec<PimEvent> {
    events_in(protocol, &fixture(file))
}

fn events_in(protocol: Protocol, body: &[u8]) -> Vec<PimEvent> {
    split_events(protocol, body)
        .expect("splits")
        .iter()
        .map(|event| {
            let message =
                OutboundMessage::build(protocol, event.raw, &event.fields, "2026-11-23T04:00:00.000Z");
            let parsed = PimEvent::from_message_body(&message.body).expect("an envelope");
            assert_eq!(parsed.raw.get(), event.raw, "raw event kept byte for byte");
            parsed
        })
        .collect()
}

fn one(protocol: Protocol, file: &str) -> PimEvent {
    let mut events = events_of(protocol, file);
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn keys(uuid: Option<&str>, identifier: Option<&str>, code: Option<&str>) -> EntityKeys {
    EntityKeys {
        uuid: uuid.map(Into::into),
        identifier: identifier.map(Into::into),
        code: code.map(Into::into),
    }
}

#[test]
fn events_api_product_events_map_to_product_with_their_action_and_keys() {
    let cases = [
        (
            "events-api/product.created.json",
            Action::Created,
            "1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad",
        ),
        (
            "events-api/product.updated.json",
            Action::Updated,
            "1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad",
        ),
        (
            "events-api/product.removed.json",
            Action::Deleted,
            "cb02315b-a8f6-4580-beee-7624c02c1384",
        ),
    ];
    for (file, action, uuid) in cases {
        // GIVEN an Events API product event
        // WHEN it goes through the queue
        let event = one(Protocol::EventsApi, file);
        // THEN it is a product event with its action, uuid and identifier
        assert_eq!(
            (&event.entity, &event.action),
            (&Entity::Product, &action),
            "{file}"
        );
        assert_eq!(event.keys, keys(Some(uuid), Some("1111111304"), None), "{file}");
    }
}

#[test]
fn events_api_events_carry_id_time_author_pim_and_reception() {
    // GIVEN an Events API event saved in the UI by peter
    let file = "events-api/product.updated.json";
    // WHEN it goes through the queue
    let event = one(Protocol::EventsApi, file);
    // THEN its id, time, author, PIM and reception time are all there
    let sent: serde_json::Value = serde_json::from_slice(&fixture(file)).expect("JSON");
    assert_eq!(event.id.as_deref(), sent["events"][0]["event_id"].as_str());
    assert_eq!(event.occurred_at.map(|t| t.unix_timestamp()), Some(1_603_185_239));
    assert_eq!(
        event.author,
        Some(Author {
            identifier: "peter".into(),
            kind: Some("ui".into())
        })
    );
    assert_eq!(event.origin, Origin::Pim("https://demo.akeneo.com".into()));
    assert_eq!(event.protocol, Protocol::EventsApi);
    assert_eq!(event.received_at.as_deref(), Some("2026-11-23T04:00:00.000Z"));
}

#[test]
fn events_api_product_model_events_are_keyed_by_code() {
    // GIVEN a product model created and one removed
    // WHEN they go through the queue
    let created = one(Protocol::EventsApi, "events-api/product_model.created.json");
    let removed = one(Protocol::EventsApi, "events-api/product_model.removed.json");
    // THEN both are product model events keyed by their code
    assert_eq!(
        (&created.entity, &created.action),
        (&Entity::ProductModel, &Action::Created)
    );
    assert!(created.keys.code.is_some());
    assert_eq!(
        (&removed.entity, &removed.action),
        (&Entity::ProductModel, &Action::Deleted)
    );
    assert_eq!(removed.keys, keys(None, None, Some("sunglasses")));
}

#[test]
fn the_bulk_fixture_gives_ten_distinct_products_by_the_api_author() {
    // GIVEN a bulk API edit of ten products
    // WHEN its events go through the queue
    let events = events_of(Protocol::EventsApi, "events-api/bulk-10.product.updated.json");
    // THEN there are ten distinct products, all authored through the API
    let mut uuids: Vec<_> = events.iter().filter_map(|e| e.keys.uuid.clone()).collect();
    uuids.dedup();
    assert_eq!((events.len(), uuids.len()), (10, 10));
    assert!(
        events
            .iter()
            .all(|e| e.author.as_ref().and_then(|a| a.kind.as_deref()) == Some("api"))
    );
}

#[test]
fn event_platform_events_map_entity_action_and_keys_for_every_fixture() {
    let uuid = Some("6a9f8486-2c36-4680-b87f-6f5f8f01b6cf");
    let cases = [
        (
            "product.created.json",
            Entity::Product,
            Action::Created,
            keys(uuid, None, None),
        ),
        (
            "product.updated.json",
            Entity::Product,
            Action::Updated,
            keys(uuid, None, None),
        ),
        (
            "product.updated.delta.json",
            Entity::Product,
            Action::Other("updated.delta".into()),
            keys(uuid, None, None),
        ),
        (
            "product.became-complete.json",
            Entity::Product,
            Action::Other("became-complete".into()),
            keys(uuid, None, None),
        ),
        (
            "product.deleted.json",
            Entity::Product,
            Action::Deleted,
            keys(
                Some("3444ec1b-058e-4208-9b6c-284f47a7aa17"),
                Some("my-product-identifier"),
                None,
            ),
        ),
        (
            "product-model.deleted.json",
            Entity::ProductModel,
            Action::Deleted,
            keys(None, None, Some("a-product-model-code")),
        ),
        (
            "category.created.json",
            Entity::Other("category".into()),
            Action::Created,
            keys(None, None, Some("summer_sale")),
        ),
    ];
    for (file, entity, action, expected_keys) in cases {
        // GIVEN an Event Platform event
        // WHEN it goes through the queue
        let event = one(Protocol::EventPlatform, &format!("event-platform/{file}"));
        // THEN its entity, action and keys are read from its type and data
        assert_eq!(
            (&event.entity, &event.action, &event.keys),
            (&entity, &action, &expected_keys),
            "{file}"
        );
        assert!(
            event
                .event_type
                .as_deref()
                .is_some_and(|t| t.ends_with(file.trim_end_matches(".json")))
        );
    }
}

#[test]
fn event_platform_events_carry_their_subscription_and_time() {
    // GIVEN any Event Platform event
    // WHEN it goes through the queue
    let event = one(Protocol::EventPlatform, "event-platform/product.created.json");
    // THEN its origin is the subscription and its time is parsed
    assert!(matches!(event.origin, Origin::Subscription(_)));
    assert!(event.occurred_at.is_some());
}

#[test]
fn event_platform_authors_are_read_from_data_and_may_be_absent() {
    // GIVEN an event deleted through the API and one without an author
    // WHEN they go through the queue
    let deleted = one(Protocol::EventPlatform, "event-platform/product.deleted.json");
    let complete = one(
        Protocol::EventPlatform,
        "event-platform/product.became-complete.json",
    );
    // THEN the first has an API author and the second none
    assert_eq!(deleted.author.and_then(|a| a.kind).as_deref(), Some("api"));
    assert_eq!(complete.author, None);
}

#[test]
fn a_type_that_is_not_akeneos_maps_to_the_catch_all_and_keeps_its_keys() {
    // GIVEN a CloudEvent of a type Akeneo does not send
    let body = br#"{"id":"x","type":"com.example.something","data":{"thing":{"code":"c1"}}}"#;
    // WHEN it goes through the queue
    let event = events_in(Protocol::EventPlatform, body).remove(0);
    // THEN the whole type is kept as entity and action, and the data's code is a key
    assert_eq!(event.entity, Entity::Other("com.example.something".into()));
    assert_eq!(event.action, Action::Other("com.example.something".into()));
    assert_eq!(event.keys.code.as_deref(), Some("c1"));
}

#[test]
fn a_future_akeneo_version_and_entity_are_still_understood() {
    // GIVEN a v2 asset event
    let body = br#"{"id":"y","type":"com.akeneo.pim.v2.asset.created","data":{"asset":{"code":"a"}}}"#;
    // WHEN it goes through the queue
    let event = events_in(Protocol::EventPlatform, body).remove(0);
    // THEN its entity and action are read past the version
    assert_eq!(
        (event.entity, event.action),
        (Entity::Other("asset".into()), Action::Created)
    );
}

#[test]
fn payload_parses_the_raw_event_into_the_callers_type() {
    #[derive(serde::Deserialize)]
    struct Delta {
        data: serde_json::Value,
    }
    // GIVEN a delta event
    let event = one(
        Protocol::EventPlatform,
        "event-platform/product.updated.delta.json",
    );
    // WHEN the business logic parses it into its own type
    let delta: Delta = event.payload().expect("parses");
    // THEN the changes are there
    assert_eq!(delta.data["product"]["changes"]["enabled"]["new"], false);
}

#[test]
fn entity_keys_link_the_uuid_and_identifier_of_one_product() {
    // GIVEN a product event carrying both uuid and identifier
    let event = one(Protocol::EventPlatform, "event-platform/product.deleted.json");
    // WHEN its entity keys are listed
    // THEN both name the same product
    assert_eq!(
        event.entity_keys(),
        [
            "product/uuid/3444ec1b-058e-4208-9b6c-284f47a7aa17",
            "product/identifier/my-product-identifier"
        ]
    );
}
