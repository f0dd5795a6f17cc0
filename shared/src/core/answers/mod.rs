//! What Akeneo's APIs answer (the PIM's token and REST endpoints, the Event
//! Platform's management API), read as untrusted input: every size and
//! duration is bounded, and nothing in an answer can panic or grow memory
//! past the limit its caller set. Plain functions, so the unit tests and the
//! `answers` fuzz target run them without a network.

pub mod body;
pub mod error_body;
pub mod retry_after;
pub mod search_page;
pub mod token;

pub use body::{AnswerBuffer, AnswerTooLarge};
pub use error_body::error_message;
pub use retry_after::read_retry_after;
pub use search_page::{SearchKey, SearchPage, read_search_page};
pub use token::{TokenGrant, read_token_answer};

/// The most a token answer may hold: a token, a refresh token and a few
/// fields are well under 4 KB.
pub const TOKEN_ANSWER_LIMIT: usize = 64 * 1024;

/// The most one PIM REST answer may hold. A search page holds at most 100
/// products; a rich product (hundreds of attributes, a dozen locales) is tens
/// of KB, so a full page is a few MB and this leaves several times that room.
/// With the processor's one call in flight per instance, it stays well inside
/// a 128 MB function.
pub const PIM_ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// The most one management API answer may hold: lists of at most 20
/// subscribers or subscriptions, or a page of delivery logs.
pub const MANAGEMENT_ANSWER_LIMIT: usize = 4 * 1024 * 1024;
