//! Events the relay's own PIM connection caused (its writes coming back as
//! events) are not given to the business logic, so a handler that writes to
//! the PIM does not loop. Runs before any other step.
//!
//! The two protocols name an author differently: the Events API puts the
//! acting user's **username** in `author`; the Event Platform puts an
//! identifier in `data.author.identifier`, the acting user's **UUID** (its
//! concepts page, and the `user="<uuid>"` filter), which its best-practices
//! page also describes as matching the connection's **client id**. So each
//! protocol's events are compared with what that protocol carries.

use tracing::info;

use super::batch::{Batch, Verdict};
use crate::core::protocol::Protocol;

/// Who "us" is, as each protocol names an author.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnAuthors {
    /// Compared with an Events API event's `author`.
    pub usernames: Vec<String>,
    /// Compared with an Event Platform event's `data.author.identifier`,
    /// ignoring case (UUIDs come in either).
    pub identifiers: Vec<String>,
}

impl OwnAuthors {
    /// The relay's connection: its username for the Events API; its user's
    /// UUID (when known) and its client id for the Event Platform.
    pub fn connection(username: &str, client_id: &str, user_uuid: Option<&str>) -> OwnAuthors {
        OwnAuthors {
            usernames: vec![username.to_owned()],
            identifiers: std::iter::once(client_id)
                .chain(user_uuid)
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Authors given without saying which protocol names them this way
    /// (`PIM_IGNORE_AUTHORS`): compared on both.
    pub fn any(authors: impl IntoIterator<Item = String>) -> OwnAuthors {
        let authors: Vec<String> = authors.into_iter().filter(|a| !a.trim().is_empty()).collect();
        OwnAuthors {
            usernames: authors.clone(),
            identifiers: authors,
        }
    }

    /// Adds `other`'s authors to these.
    pub fn extend(&mut self, other: OwnAuthors) {
        self.usernames.extend(other.usernames);
        self.identifiers.extend(other.identifiers);
    }

    /// Whether there is no author to compare with.
    pub fn is_empty(&self) -> bool {
        self.usernames.is_empty() && self.identifiers.is_empty()
    }

    /// Whether an event of `protocol` by `author` is one of ours.
    pub fn matches(&self, protocol: Protocol, author: &str) -> bool {
        match protocol {
            Protocol::EventsApi => self.usernames.iter().any(|own| own == author),
            Protocol::EventPlatform => self
                .identifiers
                .iter()
                .any(|own| own.eq_ignore_ascii_case(author)),
            // A catch-up event has no author: the PIM's search does not say who.
            Protocol::CatchUp => false,
        }
    }
}

/// `text` as a user UUID (8-4-4-4-12 hex digits), in lower case; `None` when
/// it is not one. Checked because it goes into a subscription filter as is.
pub fn user_uuid(text: &str) -> Option<String> {
    let text = text.trim();
    let groups: Vec<&str> = text.split('-').collect();
    let shaped = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, length)| group.len() == length && group.bytes().all(|b| b.is_ascii_hexdigit()));
    shaped.then(|| text.to_ascii_lowercase())
}

/// Decides `Done` for every pending event whose author is ours; answers how
/// many. Each is logged at info: a skipped event is a decision an operator
/// may need to find.
pub fn skip_own_events(batch: &mut Batch, own: &OwnAuthors) -> u64 {
    if own.is_empty() {
        return 0;
    }
    let skipped: Vec<usize> = batch
        .pending()
        .iter()
        .enumerate()
        .filter_map(|(index, event)| {
            let event = (*event)?;
            let author = event.author.as_ref()?;
            own.matches(event.protocol, &author.identifier).then(|| {
                info!(
                    event_id = event.id.as_deref(),
                    event_type = event.event_type.as_deref(),
                    protocol = event.protocol.as_str(),
                    author = author.identifier.as_str(),
                    "own event skipped: the relay's connection caused it"
                );
                index
            })
        })
        .collect();
    for &index in &skipped {
        batch.decide(index, Verdict::Done);
    }
    skipped.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "b238e9f7-fcec-45bd-9431-d43cd624b244";

    #[test]
    fn each_protocol_is_compared_with_what_it_carries() {
        // GIVEN the connection relay_1234, client id 1_abc, user b238e9f7-…
        let own = OwnAuthors::connection("relay_1234", "1_abc", Some(UUID));
        // WHEN authors of each protocol are compared
        // THEN the Events API matches the username, the Event Platform the UUID (any case) and the client id
        assert!(own.matches(Protocol::EventsApi, "relay_1234"));
        assert!(!own.matches(Protocol::EventsApi, UUID));
        assert!(own.matches(Protocol::EventPlatform, &UUID.to_ascii_uppercase()));
        assert!(own.matches(Protocol::EventPlatform, "1_abc"));
        assert!(!own.matches(Protocol::EventPlatform, "relay_1234"));
    }

    #[test]
    fn only_a_uuid_is_a_user_uuid() {
        // GIVEN a UUID in upper case, and things that are not UUIDs
        // WHEN they are read as user UUIDs
        // THEN the UUID comes back in lower case, the others not at all
        assert_eq!(user_uuid(&UUID.to_ascii_uppercase()).as_deref(), Some(UUID));
        for not_one in [
            "admin",
            "",
            "b238e9f7-fcec-45bd-9431-d43cd624b24",
            "b238e9f7\"or user=\"x-fcec-45bd-9431-d43cd624b244",
        ] {
            assert_eq!(user_uuid(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn authors_given_for_no_protocol_match_on_both() {
        // GIVEN an ignored author erp_sync
        let own = OwnAuthors::any(["erp_sync".to_owned(), " ".to_owned()]);
        // WHEN it is compared on either protocol
        // THEN it matches on both, and the blank entry matches nothing
        assert!(own.matches(Protocol::EventsApi, "erp_sync"));
        assert!(own.matches(Protocol::EventPlatform, "erp_sync"));
        assert!(!own.matches(Protocol::EventsApi, " "));
    }
}
