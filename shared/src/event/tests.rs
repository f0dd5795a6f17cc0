//! Every fixture through the receiver's envelope and back into a `PimEvent`.

use super::*;
use crate::queue::OutboundMessage;
use crate::receiver::body::split_events;
use crate::test_support::fixture;

fn events_of(protocol: Protocol, file: &str) -> Vec<PimEvent> {
    let body = fixture(file);
    split_events(protocol, &body)
        .unwrap()
        .iter()
        .map(|event| {
            let message = OutboundMessage::build(protocol, event, "2026-11-23T04:00:00.000Z");
            let parsed = parse_envelope(&message.body).unwrap();
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
fn events_api_product_fixtures_map_entity_action_keys_author_and_pim() {
    let cases = [
        (
            "events-api/product.created.json",
            Action::Created,
            Some("1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad"),
        ),
        (
            "events-api/product.updated.json",
            Action::Updated,
            Some("1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad"),
        ),
        (
            "events-api/product.removed.json",
            Action::Deleted,
            Some("cb02315b-a8f6-4580-beee-7624c02c1384"),
        ),
    ];
    for (file, action, uuid) in cases {
        let event = one(Protocol::EventsApi, file);
        assert_eq!(
            (&event.entity, &event.action),
            (&Entity::Product, &action),
            "{file}"
        );
        assert_eq!(event.keys, keys(uuid, Some("1111111304"), None), "{file}");
        assert_eq!(
            event.author,
            Some(Author {
                identifier: "peter".into(),
                kind: Some("ui".into())
            })
        );
        assert_eq!(event.origin, Origin::Pim("https://demo.akeneo.com".into()));
        let sent: serde_json::Value = serde_json::from_slice(&fixture(file)).unwrap();
        assert_eq!(event.id.as_deref(), sent["events"][0]["event_id"].as_str());
        assert_eq!(event.occurred_at.unwrap().unix_timestamp(), 1_603_185_239);
        assert_eq!(event.protocol, Protocol::EventsApi);
        assert_eq!(event.received_at.as_deref(), Some("2026-11-23T04:00:00.000Z"));
    }
}

#[test]
fn events_api_product_model_fixtures_are_keyed_by_code() {
    let created = one(Protocol::EventsApi, "events-api/product_model.created.json");
    assert_eq!(
        (created.entity, created.action),
        (Entity::ProductModel, Action::Created)
    );
    assert!(created.keys.code.is_some());
    let removed = one(Protocol::EventsApi, "events-api/product_model.removed.json");
    assert_eq!(
        (removed.entity, removed.action),
        (Entity::ProductModel, Action::Deleted)
    );
    assert_eq!(removed.keys, keys(None, None, Some("sunglasses")));
}

#[test]
fn the_bulk_fixture_gives_ten_distinct_products_by_the_api_author() {
    let events = events_of(Protocol::EventsApi, "events-api/bulk-10.product.updated.json");
    assert_eq!(events.len(), 10);
    let mut uuids: Vec<_> = events.iter().map(|e| e.keys.uuid.clone().unwrap()).collect();
    uuids.dedup();
    assert_eq!(uuids.len(), 10);
    assert!(
        events
            .iter()
            .all(|e| e.author.as_ref().unwrap().kind.as_deref() == Some("api"))
    );
}

#[test]
fn event_platform_fixtures_map_entity_action_keys_author_and_subscription() {
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
        let event = one(Protocol::EventPlatform, &format!("event-platform/{file}"));
        assert_eq!(
            (&event.entity, &event.action, &event.keys),
            (&entity, &action, &expected_keys),
            "{file}"
        );
        assert!(matches!(event.origin, Origin::Subscription(_)), "{file}");
        assert!(event.occurred_at.is_some(), "{file}");
        assert!(
            event
                .event_type
                .as_deref()
                .unwrap()
                .ends_with(file.trim_end_matches(".json"))
        );
    }
    let deleted = one(Protocol::EventPlatform, "event-platform/product.deleted.json");
    assert_eq!(deleted.author.unwrap().kind.as_deref(), Some("api"));
    let complete = one(
        Protocol::EventPlatform,
        "event-platform/product.became-complete.json",
    );
    assert_eq!(complete.author, None, "the fixture has no author");
}

#[test]
fn unknown_types_map_to_the_catch_all_and_keep_the_raw_event() {
    let body = br#"{"id":"x","type":"com.example.something","data":{"thing":{"code":"c1"}}}"#;
    let event = events_of(Protocol::EventPlatform, "event-platform/product.created.json");
    assert_eq!(event.len(), 1);
    let parsed = split_events(Protocol::EventPlatform, body).unwrap();
    let message = OutboundMessage::build(Protocol::EventPlatform, &parsed[0], "t");
    let event = parse_envelope(&message.body).unwrap();
    assert_eq!(event.entity, Entity::Other("com.example.something".into()));
    assert_eq!(event.action, Action::Other("com.example.something".into()));
    assert_eq!(event.keys.code.as_deref(), Some("c1"));
    let future = br#"{"id":"y","type":"com.akeneo.pim.v2.asset.created","data":{"asset":{"code":"a"}}}"#;
    let parsed = split_events(Protocol::EventPlatform, future).unwrap();
    let event =
        parse_envelope(&OutboundMessage::build(Protocol::EventPlatform, &parsed[0], "t").body).unwrap();
    assert_eq!(
        (event.entity, event.action),
        (Entity::Other("asset".into()), Action::Created)
    );
}

#[test]
fn envelopes_that_are_broken_or_of_another_version_are_refused() {
    assert_eq!(
        parse_envelope(r#"{"v":2,"event":{}}"#).unwrap_err(),
        EnvelopeError::UnsupportedVersion(2)
    );
    for body in [
        "not json",
        r#"{"protocol":"events-api"}"#,
        r#"{"v":1,"protocol":"smtp","event":{}}"#,
        r#"{"v":1}"#,
    ] {
        let error = parse_envelope(body).unwrap_err();
        assert_eq!(error.code(), "invalid_envelope", "{body}: {error}");
    }
}

#[test]
fn payload_parses_the_raw_event_into_the_callers_type() {
    #[derive(serde::Deserialize)]
    struct Delta {
        data: serde_json::Value,
    }
    let event = one(
        Protocol::EventPlatform,
        "event-platform/product.updated.delta.json",
    );
    let delta: Delta = event.payload().unwrap();
    assert_eq!(delta.data["product"]["changes"]["enabled"]["new"], false);
}

#[test]
fn entity_keys_link_uuid_and_identifier_of_one_product() {
    let event = one(Protocol::EventPlatform, "event-platform/product.deleted.json");
    assert_eq!(
        event.entity_keys(),
        [
            "product/uuid/3444ec1b-058e-4208-9b6c-284f47a7aa17",
            "product/identifier/my-product-identifier"
        ]
    );
}
