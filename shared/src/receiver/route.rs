use crate::Protocol;

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
    fn resolves_both_routes_with_or_without_one_trailing_slash() {
        assert_eq!(resolve("/events-api"), Some(Protocol::EventsApi));
        assert_eq!(resolve("/event-platform/"), Some(Protocol::EventPlatform));
        for path in [
            "/",
            "",
            "/events-api//",
            "/events-api/x",
            "/EVENTS-API",
            "/lambda-url/receiver/events-api",
        ] {
            assert_eq!(resolve(path), None, "{path}");
        }
    }
}
