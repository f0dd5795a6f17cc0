use crate::core::protocol::Protocol;

/// The protocol served at a Function URL path. One trailing slash is tolerated:
/// a 404 suspends an Event Platform subscription at once, so a pasted URL with a
/// slash must not cost the integrator their events.
pub fn resolve(path: &str) -> Option<Protocol> {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    Protocol::ALL.into_iter().find(|protocol| protocol.path() == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_resolves_to_its_protocol() {
        // GIVEN the two routes
        // WHEN they are resolved
        // THEN each names its protocol
        assert_eq!(resolve("/events-api"), Some(Protocol::EventsApi));
        assert_eq!(resolve("/event-platform"), Some(Protocol::EventPlatform));
    }

    #[test]
    fn one_trailing_slash_is_tolerated() {
        // GIVEN a route pasted with a trailing slash
        // WHEN it is resolved
        // THEN it is still the route: a 404 would suspend an Event Platform subscription
        assert_eq!(resolve("/event-platform/"), Some(Protocol::EventPlatform));
    }

    #[test]
    fn anything_else_resolves_to_nothing() {
        // GIVEN paths that are not exactly a route
        for path in [
            "/",
            "",
            "/events-api//",
            "/events-api/x",
            "/EVENTS-API",
            "/lambda-url/receiver/events-api",
        ] {
            // WHEN one is resolved
            // THEN there is no route
            assert_eq!(resolve(path), None, "{path}");
        }
    }
}
