//! Structured JSON logs, as CloudWatch and Logs Insights read them.

use tracing_subscriber::EnvFilter;

use super::output;

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
