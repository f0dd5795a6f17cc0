//! The invariants of reading Akeneo's answers ([`crate::core::answers`] and
//! the management API's lists), for the `answers` fuzz target and its
//! property test: whatever the bytes, no panic, nothing past its bound, and
//! nothing a header or a log line cannot carry.

use std::time::{Duration, SystemTime};

use crate::core::answers::retry_after::MAX_RETRY_AFTER;
use crate::core::answers::token::MAX_TOKEN_LIFETIME;
use crate::core::answers::{
    AnswerBuffer, SearchKey, error_message, read_retry_after, read_search_page, read_token_answer,
};
use crate::core::subscription::model::{list_items, next_page};

/// `pick` chooses what reads `body`: a token answer, a search page by uuid or
/// by code, a management list, an error body, a `Retry-After`, or the body
/// arriving in chunks under a limit.
pub fn check_answer(pick: u8, body: &[u8]) {
    match pick % 7 {
        0 => {
            if let Ok(grant) = read_token_answer(body) {
                assert!(grant.lifetime <= MAX_TOKEN_LIFETIME);
                for token in std::iter::once(&grant.access_token).chain(grant.refresh_token.as_ref()) {
                    assert!(!token.is_empty() && token.len() <= 4096);
                    assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{token:?}");
                }
            }
        }
        1 | 2 => {
            let key = if pick % 7 == 1 {
                SearchKey::Uuid
            } else {
                SearchKey::Code
            };
            if let Ok(page) = read_search_page(body, key) {
                for (value, item) in &page.items {
                    assert_eq!(*value, key.normalise(value));
                    assert!(serde_json::from_str::<serde_json::Value>(item.get()).is_ok());
                }
            }
        }
        3 => {
            let _ = list_items(body);
            let _ = next_page(body);
        }
        4 => {
            let message = error_message(body);
            assert!(message.chars().count() <= 300);
            assert!(!message.chars().any(char::is_control), "{message:?}");
        }
        5 => {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
            if let Some(wait) = read_retry_after(body, now) {
                assert!(wait <= MAX_RETRY_AFTER);
            }
        }
        _ => check_chunks(body),
    }
}

/// The first two bytes are the limit and the announced length (in units of
/// 16 bytes, 255 meaning none), the rest arrives in chunks whose sizes the
/// body's own bytes decide.
fn check_chunks(body: &[u8]) {
    let [limit, announced, rest @ ..] = body else {
        return;
    };
    let limit = usize::from(*limit) * 16;
    let announced = (*announced != 255).then(|| u64::from(*announced) * 16);
    let Ok(mut buffer) = AnswerBuffer::new(limit, announced) else {
        assert!(announced.is_some_and(|length| length > limit as u64));
        return;
    };
    let mut sent = 0;
    let mut rest = rest;
    while let Some((&size, tail)) = rest.split_first() {
        let chunk = &tail[..usize::from(size).min(tail.len())];
        rest = &tail[chunk.len()..];
        match buffer.push(chunk) {
            Ok(()) => sent += chunk.len(),
            Err(_) => {
                assert!(sent + chunk.len() > limit);
                break;
            }
        }
        assert!(buffer.len() <= limit);
    }
    assert_eq!(buffer.len(), sent);
}
