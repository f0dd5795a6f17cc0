//! Realistic request bodies, shaped as Akeneo sends them: fresh ids and times
//! on every call so the relay and your logic see distinct events.

use serde_json::{Value, json};
use shared::Protocol;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const EVENTS_API_TYPES: [&str; 6] = [
    "product.created",
    "product.updated",
    "product.removed",
    "product_model.created",
    "product_model.updated",
    "product_model.removed",
];

pub const EVENT_PLATFORM_TYPES: [&str; 11] = [
    "product.created",
    "product.updated",
    "product.updated.delta",
    "product.deleted",
    "product.became-complete",
    "product.became-incomplete",
    "product-model.created",
    "product-model.updated",
    "product-model.updated.delta",
    "product-model.deleted",
    "category.created",
];

const EVENT_PLATFORM_PREFIX: &str = "com.akeneo.pim.v1.";
const SUBSCRIPTION: &str = "019256aa-7f77-7f58-bc8c-770f7e369c5b";

pub fn is_known(protocol: Protocol, kind: &str) -> bool {
    match protocol {
        Protocol::EventsApi => EVENTS_API_TYPES.contains(&kind),
        Protocol::EventPlatform => {
            EVENT_PLATFORM_TYPES.contains(&kind.strip_prefix(EVENT_PLATFORM_PREFIX).unwrap_or(kind))
        }
        // Not Akeneo's: `send` never plays it.
        Protocol::CatchUp => false,
    }
}

pub fn default_type(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::EventsApi | Protocol::EventPlatform | Protocol::CatchUp => "product.updated",
    }
}

/// A request body for `protocol` with one event of `kind`. Unknown kinds still
/// produce a well-formed event: the relay must queue them, never refuse them.
pub fn body(protocol: Protocol, kind: &str) -> Vec<u8> {
    match protocol {
        Protocol::EventsApi => events_api_body(kind),
        Protocol::EventPlatform | Protocol::CatchUp => event_platform_body(kind),
    }
}

fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    now.format(&Rfc3339).unwrap_or_default()
}

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn events_api_body(action: &str) -> Vec<u8> {
    let resource = match action {
        "product.removed" => json!({"identifier": "1111111304", "uuid": id()}),
        "product_model.removed" => json!({"code": "sunglasses"}),
        a if a.starts_with("product_model.") => json!({
            "code": "sunglasses", "family": "accessories", "family_variant": "accessories_color",
            "parent": null, "categories": ["master_accessories_sunglasses"],
            "values": {"name": [{"locale": "en_US", "scope": null, "data": "Sunglasses"}]},
            "created": now_rfc3339(), "updated": now_rfc3339(),
            "associations": {}, "quantified_associations": {}
        }),
        _ => json!({
            "uuid": id(), "identifier": "1111111304", "family": "accessories", "parent": null,
            "groups": [], "categories": ["master_accessories_sunglasses", "supplier_zaro"], "enabled": true,
            "values": {
                "name": [{"locale": "en_US", "scope": null, "data": "Sunglasses été"}],
                "image": [{"locale": null, "scope": null, "data": "9/9/c/c/99cc83f1_sunglasses.jpg",
                           "_links": {"download": {"href": "https://demo.akeneo.com/api/rest/v1/media-files/9/9/c/c/99cc83f1_sunglasses.jpg/download"}}}]
            },
            "created": now_rfc3339(), "updated": now_rfc3339(),
            "associations": {"PACK": {"products": [], "product_models": [], "groups": []}},
            "quantified_associations": []
        }),
    };
    let event = json!({
        "action": action,
        "event_id": id(),
        "event_datetime": now_rfc3339().replace('Z', "+00:00"),
        "author": "julia",
        "author_type": "ui",
        "pim_source": "https://demo.akeneo.com",
        "data": {"resource": resource}
    });
    php_json(&json!({"events": [event]}))
}

/// As the PIM's encoder writes JSON: `/` escaped, non-ASCII as `\uXXXX`.
fn php_json(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    for c in value.to_string().chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.into_bytes()
}

fn event_platform_body(kind: &str) -> Vec<u8> {
    // Short names get Akeneo's prefix; a full type is sent as given.
    let full = if kind.starts_with("com.") {
        kind.to_owned()
    } else {
        format!("{EVENT_PLATFORM_PREFIX}{kind}")
    };
    let short = full.strip_prefix(EVENT_PLATFORM_PREFIX).unwrap_or(&full);
    let entity = short.split('.').next().unwrap_or("product");
    let author = json!({"identifier": "b238e9f7-fcec-45bd-9431-d43cd624b244", "type": "user"});
    let data = match entity {
        "product" if short == "product.updated.delta" => json!({
            "product": {"uuid": id(), "updated_at": {"date": now_rfc3339(), "timezone": "UTC"},
                        "changes": {"enabled": {"previous": true, "new": false}}},
            "author": author
        }),
        "product" if short.starts_with("product.became-") => json!({
            "product": {"uuid": id(), "complete_on": [{"locale": "en_US", "scope": "ecommerce"}]}
        }),
        "product" => json!({"product": {"uuid": id()}, "author": author}),
        "product-model" => json!({"product_model": {"code": "a-product-model-code"}, "author": author}),
        other => json!({other.replace('-', "_"): {"code": "sample_code"}, "author": author}),
    };
    let event = json!({
        "specversion": "1.0",
        "id": id(),
        "type": full,
        "source": "akeneo-event-platform",
        "subject": SUBSCRIPTION,
        "time": now_rfc3339(),
        "datacontenttype": "application/json",
        "dataschema": format!("https://event.prd.sdk.akeneo.cloud/spec/{full}.schema.json"),
        "data": data
    });
    serde_json::to_vec_pretty(&event).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::core::body::split_events;

    #[test]
    fn every_sample_is_a_valid_body_of_its_protocol_with_a_fresh_id() {
        for kind in EVENTS_API_TYPES.iter().chain(&["asset.created"]) {
            let body = body(Protocol::EventsApi, kind);
            assert!(body.is_ascii(), "the PIM escapes non-ASCII");
            assert!(
                !String::from_utf8_lossy(&body).contains("https://"),
                "the PIM escapes slashes"
            );
            let events = split_events(Protocol::EventsApi, &body).unwrap();
            assert_eq!(events[0].fields.kind.as_deref(), Some(*kind));
            assert_ne!(
                events[0].fields.id,
                split_events(Protocol::EventsApi, &super::body(Protocol::EventsApi, kind)).unwrap()[0]
                    .fields
                    .id
            );
        }
        for kind in EVENT_PLATFORM_TYPES
            .iter()
            .chain(&["reference-entity-record.created"])
        {
            let body = body(Protocol::EventPlatform, kind);
            let events = split_events(Protocol::EventPlatform, &body).unwrap();
            assert_eq!(
                events[0].fields.kind.as_deref(),
                Some(format!("com.akeneo.pim.v1.{kind}").as_str())
            );
        }
        let full = body(Protocol::EventPlatform, "com.akeneo.pim.v1.product.deleted");
        let events = split_events(Protocol::EventPlatform, &full).unwrap();
        assert_eq!(
            events[0].fields.kind.as_deref(),
            Some("com.akeneo.pim.v1.product.deleted")
        );
    }
}
