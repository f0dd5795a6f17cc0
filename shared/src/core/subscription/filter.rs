//! The subscription filter `subscribe` asks for. Akeneo can drop the events
//! the relay's own connection causes before they are sent (a `user` filter,
//! EVENT-PLATFORM-API.md "Filters"), which is cheaper than delivering and
//! skipping them; the processor still skips any that come through.

use thiserror::Error;

/// Akeneo refuses a longer expression.
pub const MAX_FILTER_CHARS: usize = 500;

/// Why a subscription filter cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    /// The combined filter is this many characters, over Akeneo's limit.
    #[error("the filter is {0} characters, over Akeneo's {MAX_FILTER_CHARS}")]
    TooLong(usize),
}

/// The filter to subscribe with: the user's own (`filter`), and, when the
/// connection's user UUID is known, `not user="<uuid>"` joined to it with
/// `and`. The user's expression is put in parentheses so an `or` in it
/// cannot swallow the exclusion. The result is the same on every run, so a
/// rerun of `subscribe` changes nothing.
pub fn subscription_filter(
    filter: Option<&str>,
    own_user_uuid: Option<&str>,
) -> Result<Option<String>, FilterError> {
    let filter = filter.map(str::trim).filter(|f| !f.is_empty());
    let combined = match (filter, own_user_uuid) {
        (None, None) => return Ok(None),
        (Some(filter), None) => filter.to_owned(),
        (None, Some(uuid)) => exclusion(uuid),
        (Some(filter), Some(uuid)) => format!("({filter}) and {}", exclusion(uuid)),
    };
    let length = combined.chars().count();
    if length > MAX_FILTER_CHARS {
        return Err(FilterError::TooLong(length));
    }
    Ok(Some(combined))
}

fn exclusion(uuid: &str) -> String {
    format!("not user=\"{uuid}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "5f9c2a1e-3b7d-4c8e-9f01-23456789abcd";

    #[test]
    fn without_a_user_uuid_the_users_filter_is_kept_as_given() {
        // GIVEN a filter and no known user UUID
        // WHEN the subscription filter is made
        let made = subscription_filter(Some(r#"user_type="user""#), None);
        // THEN it is the user's filter
        assert_eq!(made, Ok(Some(r#"user_type="user""#.to_owned())));
    }

    #[test]
    fn a_known_user_uuid_alone_becomes_an_exclusion() {
        // GIVEN no filter and the connection's user UUID
        // WHEN the subscription filter is made
        let made = subscription_filter(None, Some(UUID));
        // THEN it drops that user's events
        assert_eq!(made, Ok(Some(format!(r#"not user="{UUID}""#))));
    }

    #[test]
    fn the_exclusion_is_joined_to_the_users_filter_outside_its_parentheses() {
        // GIVEN a filter with an `or` and the connection's user UUID
        // WHEN the subscription filter is made
        let made = subscription_filter(Some(r#"user_type="user" or user_type="job""#), Some(UUID));
        // THEN the `or` cannot let the connection's own events through
        assert_eq!(
            made,
            Ok(Some(format!(
                r#"(user_type="user" or user_type="job") and not user="{UUID}""#
            )))
        );
    }

    #[test]
    fn an_empty_filter_is_no_filter() {
        // GIVEN a blank filter and no UUID
        // WHEN the subscription filter is made
        // THEN there is none
        assert_eq!(subscription_filter(Some("  "), None), Ok(None));
    }

    #[test]
    fn a_combined_filter_over_akeneos_limit_is_refused_before_any_call() {
        // GIVEN a filter that fits alone but not with the exclusion
        let filter = format!(r#"locale="{}""#, "x".repeat(480));
        // WHEN the subscription filter is made
        let made = subscription_filter(Some(&filter), Some(UUID));
        // THEN it is refused with the length
        assert!(matches!(made, Err(FilterError::TooLong(n)) if n > MAX_FILTER_CHARS));
    }
}
