//! One page of a PIM search (`GET /api/rest/v1/products-uuid?search=…`,
//! `/product-models?search=…`): its items by key, and the link to the next.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What a search is by: products by `uuid`, product models by `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKey {
    /// Products, by `uuid`.
    Uuid,
    /// Product models, by `code`.
    Code,
}

impl SearchKey {
    /// The field searched on: `uuid` or `code`.
    pub fn name(self) -> &'static str {
        match self {
            SearchKey::Uuid => "uuid",
            SearchKey::Code => "code",
        }
    }

    /// Uuids are compared in lower case; codes as they are.
    pub fn normalise(self, value: &str) -> String {
        match self {
            SearchKey::Uuid => value.to_ascii_lowercase(),
            SearchKey::Code => value.to_owned(),
        }
    }
}

/// A page, borrowing its items from the answer's body.
#[derive(Debug)]
pub struct SearchPage<'a> {
    /// (key, normalised; the item's JSON as the PIM sent it).
    pub items: Vec<(String, &'a RawValue)>,
    /// `_links.next.href`, unchecked: the caller decides whether to follow it.
    pub next: Option<String>,
}

/// Why a page could not be read. Names no value from the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The body is not a search page (`_embedded.items`).
    #[error("not a search page: {0}")]
    NotAPage(String),
    /// An item lacks this key, or it is not text.
    #[error("an item has no text {0}")]
    ItemWithoutKey(&'static str),
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow, rename = "_embedded")]
    embedded: Embedded<'a>,
    #[serde(default, rename = "_links")]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Embedded<'a> {
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    href: String,
}

#[derive(Deserialize)]
struct Keys {
    #[serde(default)]
    uuid: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

/// Reads one search page, each item keyed by `key` (normalised), without
/// copying the items.
pub fn read_search_page(body: &[u8], key: SearchKey) -> Result<SearchPage<'_>, PageError> {
    let page: Page<'_> = serde_json::from_slice(body).map_err(|e| PageError::NotAPage(e.to_string()))?;
    let mut items = Vec::with_capacity(page.embedded.items.len());
    for item in page.embedded.items {
        let keys: Keys = serde_json::from_str(item.get()).map_err(|e| PageError::NotAPage(e.to_string()))?;
        let value = match key {
            SearchKey::Uuid => keys.uuid,
            SearchKey::Code => keys.code,
        };
        let Some(serde_json::Value::String(value)) = value else {
            return Err(PageError::ItemWithoutKey(key.name()));
        };
        items.push((key.normalise(&value), item));
    }
    Ok(SearchPage {
        items,
        next: page.links.and_then(|links| links.next).map(|link| link.href),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_page_gives_its_items_by_key_and_its_next_link() {
        // GIVEN a page of two products in the REST format, with a next link
        let body = br#"{"_links":{"self":{"href":"https://pim/api/rest/v1/products-uuid?page=1"},"next":{"href":"https://pim/api/rest/v1/products-uuid?page=2"}},
            "current_page":1,"_embedded":{"items":[{"uuid":"A1B2","identifier":"x","values":{}},{"uuid":"c3d4","identifier":"y"}]}}"#;
        // WHEN it is read by uuid
        let page = read_search_page(body, SearchKey::Uuid).expect("a page");
        // THEN the uuids are in lower case, each item is its own bytes, and the link is there
        let keys: Vec<&str> = page.items.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["a1b2", "c3d4"]);
        assert_eq!(page.items[1].1.get(), r#"{"uuid":"c3d4","identifier":"y"}"#);
        assert_eq!(
            page.next.as_deref(),
            Some("https://pim/api/rest/v1/products-uuid?page=2")
        );
    }

    #[test]
    fn an_item_without_its_key_fails_the_page() {
        // GIVEN a product model page whose item has a numeric code
        let body = br#"{"_embedded":{"items":[{"code":12}]}}"#;
        // WHEN it is read by code
        // THEN the page is refused, naming the key
        assert_eq!(
            read_search_page(body, SearchKey::Code).err(),
            Some(PageError::ItemWithoutKey("code"))
        );
    }

    #[test]
    fn an_answer_that_is_not_a_page_is_an_error_not_a_panic() {
        // GIVEN answers that are not pages, one nested deeper than any parser should follow
        let deep = "[".repeat(100_000);
        for body in [
            &b"<html>"[..],
            b"{}",
            br#"{"_embedded":{"items":{}}}"#,
            b"null",
            deep.as_bytes(),
        ] {
            // WHEN they are read
            // THEN each is an error
            assert!(read_search_page(body, SearchKey::Uuid).is_err());
        }
    }
}
