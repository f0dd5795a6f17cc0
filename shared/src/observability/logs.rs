//! Structured JSON logs, as CloudWatch and Logs Insights read them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing_subscriber::EnvFilter;

use super::output;

/// `at` as a log field: RFC 3339 (`2026-12-03T20:15:50.45Z`), as every other
/// time in the relay's messages and Akeneo's events, so Logs Insights and
/// scripts parse it like them. `Display` would write `2026-12-03 20:15:50.45
/// +00:00:00`, which nothing parses.
pub fn rfc3339(at: OffsetDateTime) -> String {
    // RFC 3339 has no room for years past 9999 or offsets with seconds; such a
    // time is still worth a log line, in Display's words.
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// JSON lines on stdout with the current span's fields. The level comes from
/// `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by the template's
/// LoggingConfig), else `info`.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.to_lowercase())
        .unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_writer(output::Stdout)
        .try_init();
    log_panics_as_json();
}

/// Panics go to the log as one JSON line, like everything else, so a Logs
/// Insights query finds them; the processor still recovers from them per message.
fn log_panics_as_json() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = message.as_str(), location = location.as_deref(), "panic");
        output::flush();
    }));
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_logged_time_is_rfc_3339_as_written_by_akeneo() {
        // GIVEN the time of an event as the PIM sends it
        let at = OffsetDateTime::parse("2026-12-03T20:15:50.45+00:00", &Rfc3339).expect("RFC 3339");
        // WHEN it is written to a log field
        let field = rfc3339(at);
        // THEN it reads back as the same instant, in RFC 3339
        assert_eq!(field, "2026-12-03T20:15:50.45Z");
        assert_eq!(OffsetDateTime::parse(&field, &Rfc3339).ok(), Some(at));
    }

    #[test]
    fn a_logged_time_keeps_its_offset() {
        // GIVEN a time the PIM sent with its server's offset
        let at = datetime!(2026-12-03 21:15:50 +01:00);
        // WHEN it is written to a log field
        let field = rfc3339(at);
        // THEN the offset is kept, so the line shows what Akeneo sent
        assert_eq!(field, "2026-12-03T21:15:50+01:00");
    }

    #[test]
    fn a_time_rfc_3339_cannot_hold_is_still_logged() {
        // GIVEN an offset with seconds, which RFC 3339 cannot write
        let at = datetime!(2026-12-03 20:15:50 +01:00:30);
        // WHEN it is written to a log field
        let field = rfc3339(at);
        // THEN the line still says when, rather than nothing
        assert!(field.starts_with("2026-12-03 20:15:50"), "{field}");
    }
}
