//! Queue messages as the receiver writes them, for feeding the processor
//! directly.

// Shared by the integration tests and the benches (by path): each uses a part.
#![allow(dead_code)]

use std::collections::HashMap;

use shared::Protocol;
use shared::core::message::{EventFields, OutboundMessage};
use shared::ports::queue::ReceivedMessage;

/// An Event Platform event about `key` (a product uuid, a product model
/// code), of `kind` (`product.updated`, `product-model.created`, ...), by
/// `author`, as its queue message.
pub fn message(id: &str, kind: &str, key: &str, author: &str) -> ReceivedMessage {
    message_of(None, id, kind, key, author)
}

/// `product.updated` of `uuid` by julia, received on `tenant`'s route.
pub fn tenant_product_updated(tenant: &str, id: &str, uuid: &str) -> ReceivedMessage {
    message_of(Some(tenant), id, "product.updated", uuid, "julia")
}

/// `message`, received on `tenant`'s route when there is one.
pub fn message_of(tenant: Option<&str>, id: &str, kind: &str, key: &str, author: &str) -> ReceivedMessage {
    let (entity, _) = kind.split_once('.').expect("entity.action");
    let (object, field) = match entity {
        "product" => ("product", "uuid"),
        "product-model" => ("product_model", "code"),
        other => (other, "code"),
    };
    let kind = format!("com.akeneo.pim.v1.{kind}");
    let raw = format!(
        r#"{{"specversion":"1.0","id":"{id}","type":"{kind}","source":"pim","subject":"sub-1","time":"2026-11-23T10:00:00Z","data":{{"{object}":{{"{field}":"{key}"}},"author":{{"identifier":"{author}","type":"api"}}}}}}"#
    );
    let fields = EventFields {
        id: Some(id.into()),
        kind: Some(kind),
        occurred_at: Some("2026-11-23T10:00:00Z".into()),
        source: Some("sub-1".into()),
    };
    let built = OutboundMessage::build_for_tenant(
        tenant,
        Protocol::EventPlatform,
        &raw,
        &fields,
        "2026-11-23T10:00:01.000Z",
    );
    ReceivedMessage {
        message_id: format!("m-{}{id}", tenant.map(|t| format!("{t}-")).unwrap_or_default()),
        receipt_handle: Some(format!(
            "rh-{}{id}",
            tenant.map(|t| format!("{t}-")).unwrap_or_default()
        )),
        body: Some(built.body),
        receive_count: 1,
        attributes: built
            .attributes
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect::<HashMap<_, _>>(),
    }
}

/// `product.updated` by julia, a PIM user.
pub fn product_updated(id: &str, uuid: &str) -> ReceivedMessage {
    message(id, "product.updated", uuid, "julia")
}
