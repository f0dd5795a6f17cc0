//! What `subscribe` changes: the subscription the relay asks for, compared
//! with the one Akeneo holds. Running it twice changes nothing the second
//! time because an equal subscription plans no change.

use serde_json::{Map, Value, json};

use super::model::Subscription;

/// The subscription the relay asks for. The secret is not part of it: Akeneo
/// never returns it, so it cannot be compared (`rotate-secret` changes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The Event Platform Request URL of the deployment.
    pub url: String,
    /// The event types.
    pub events: Vec<String>,
    /// The filter expression, if any.
    pub filter: Option<String>,
    /// Whether events carry the product's identifier.
    pub send_product_identifier: bool,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The event types differ.
    Events {
        /// Types to add.
        added: Vec<String>,
        /// Types to remove.
        removed: Vec<String>,
    },
    /// The filter differs.
    Filter {
        /// The current filter.
        from: Option<String>,
        /// The desired filter.
        to: Option<String>,
    },
    /// `send_product_identifier` becomes this.
    SendProductIdentifier(bool),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Events { added, removed } => {
                write!(f, "events:")?;
                for event in added {
                    write!(f, " +{event}")?;
                }
                for event in removed {
                    write!(f, " -{event}")?;
                }
                Ok(())
            }
            Change::Filter { from, to } => write!(
                f,
                "filter: {} -> {}",
                from.as_deref().unwrap_or("(none)"),
                to.as_deref().unwrap_or("(none)")
            ),
            Change::SendProductIdentifier(on) => write!(f, "send_product_identifier: {on}"),
        }
    }
}

/// What `subscribe` does to the subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// No subscription points at the URL yet.
    Create,
    /// It exists; these fields differ.
    Update(Vec<Change>),
    /// It is as desired: nothing to do.
    Unchanged,
}

/// The subscription of `subscriptions` that delivers to `url`.
pub fn find_by_url<'a>(subscriptions: &'a [Subscription], url: &str) -> Option<&'a Subscription> {
    let wanted = url.trim_end_matches('/');
    subscriptions
        .iter()
        .find(|s| s.url().trim_end_matches('/') == wanted)
}

/// Compares as sets (Akeneo may answer the events in any order); an empty
/// filter is no filter.
pub fn plan(desired: &Desired, current: Option<&Subscription>) -> Plan {
    let Some(current) = current else {
        return Plan::Create;
    };
    let mut changes = Vec::new();
    let added: Vec<String> = desired
        .events
        .iter()
        .filter(|e| !current.events.contains(e))
        .cloned()
        .collect();
    let removed: Vec<String> = current
        .events
        .iter()
        .filter(|e| !desired.events.contains(e))
        .cloned()
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        changes.push(Change::Events { added, removed });
    }
    let current_filter = current.filter.clone().filter(|f| !f.trim().is_empty());
    let desired_filter = desired.filter.clone().filter(|f| !f.trim().is_empty());
    if current_filter != desired_filter {
        changes.push(Change::Filter {
            from: current_filter,
            to: desired_filter,
        });
    }
    if current.send_product_identifier.unwrap_or(false) != desired.send_product_identifier {
        changes.push(Change::SendProductIdentifier(desired.send_product_identifier));
    }
    if changes.is_empty() {
        Plan::Unchanged
    } else {
        Plan::Update(changes)
    }
}

/// `POST /subscribers/{id}/subscriptions`: an HTTPS subscription of the PIM
/// at `pim_url` signed with `secret`.
pub fn create_body(desired: &Desired, pim_url: &str, secret: &str) -> Value {
    let mut body = json!({
        "source": "pim",
        "subject": pim_url,
        "events": desired.events,
        "type": "https",
        "send_product_identifier": desired.send_product_identifier,
        "config": {"url": desired.url, "secret": {"primary": secret}},
    });
    if let Some(filter) = desired.filter.as_ref().filter(|f| !f.trim().is_empty()) {
        body["filter"] = json!(filter);
    }
    body
}

/// `PATCH`: only the fields that change. A filter taken away is sent as
/// `null` (a merge patch removes it).
pub fn update_body(desired: &Desired, changes: &[Change]) -> Value {
    let mut body = Map::new();
    for change in changes {
        match change {
            Change::Events { .. } => {
                body.insert("events".into(), json!(desired.events));
            }
            Change::Filter { to, .. } => {
                body.insert("filter".into(), json!(to));
            }
            Change::SendProductIdentifier(on) => {
                body.insert("send_product_identifier".into(), json!(on));
            }
        }
    }
    Value::Object(body)
}

/// `PATCH`: the subscription's signing secrets. No secondary is sent as
/// `null`, which removes it (merge-patch semantics; kept in this one place).
pub fn secrets_body(url: &str, primary: &str, secondary: Option<&str>) -> Value {
    json!({"config": {"url": url, "secret": {"primary": primary, "secondary": secondary}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            url: "https://relay.example/event-platform".into(),
            events: vec!["a".into(), "b".into()],
            filter: None,
            send_product_identifier: false,
        }
    }

    fn current(events: &[&str], filter: Option<&str>) -> Subscription {
        serde_json::from_value(json!({
            "id": "s1",
            "events": events,
            "filter": filter,
            "config": {"url": "https://relay.example/event-platform/"},
        }))
        .expect("subscription")
    }

    #[test]
    fn no_subscription_plans_a_creation() {
        // GIVEN nothing at Akeneo
        // WHEN the plan is made
        // THEN it creates one
        assert_eq!(plan(&desired(), None), Plan::Create);
    }

    #[test]
    fn the_same_subscription_in_another_order_plans_nothing() {
        // GIVEN the subscription as asked, events in another order and an empty filter
        let subscription = current(&["b", "a"], Some(" "));
        // WHEN the plan is made
        // THEN nothing changes
        assert_eq!(plan(&desired(), Some(&subscription)), Plan::Unchanged);
    }

    #[test]
    fn differing_fields_are_listed_and_only_they_are_patched() {
        // GIVEN a subscription with another event and a filter
        let subscription = current(&["a", "c"], Some(r#"user_type="api""#));
        // WHEN the plan is made
        let Plan::Update(changes) = plan(&desired(), Some(&subscription)) else {
            panic!("an update")
        };
        // THEN events and filter change, and the patch holds just them
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].to_string(), "events: +b -c");
        let body = update_body(&desired(), &changes);
        assert_eq!(body, json!({"events": ["a", "b"], "filter": null}));
    }

    #[test]
    fn the_subscription_is_found_by_its_url_with_or_without_a_slash() {
        // GIVEN a subscription whose URL ends with a slash
        let subscriptions = [current(&["a"], None)];
        // WHEN it is looked up by the URL without one
        // THEN it is found
        assert!(find_by_url(&subscriptions, "https://relay.example/event-platform").is_some());
        assert!(find_by_url(&subscriptions, "https://relay.example/events-api").is_none());
    }
}
