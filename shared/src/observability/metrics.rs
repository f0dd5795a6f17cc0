//! Custom metrics as CloudWatch Embedded Metric Format: one JSON line on stdout
//! per record, turned into metrics by CloudWatch Logs. No API calls, no latency.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
pub const DEFAULT_NAMESPACE: &str = "AkeneoEventRelay";

/// Counts published under one set of dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    pub dimensions: Vec<(&'static str, &'a str)>,
    pub counts: Vec<(&'static str, u64)>,
}

/// Builds one EMF line; also publishes the counts without dimensions when
/// `rollup` is set, for totals across every value of a dimension.
pub fn emf_line(namespace: &str, record: &Record<'_>, timestamp_ms: u128, rollup: bool) -> String {
    let mut dimension_sets = vec![
        record
            .dimensions
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>(),
    ];
    if rollup && !record.dimensions.is_empty() {
        dimension_sets.push(Vec::new());
    }
    let metrics: Vec<Value> = record
        .counts
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": dimension_sets, "Metrics": metrics}]
        }),
    );
    for (name, value) in &record.dimensions {
        line.insert((*name).into(), json!(value));
    }
    for (name, count) in &record.counts {
        line.insert((*name).into(), json!(count));
    }
    Value::Object(line).to_string()
}

/// Writes EMF lines to stdout, where Lambda sends them to CloudWatch Logs.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: Option<String>,
}

impl Metrics {
    /// From `METRICS_NAMESPACE` (the template sets one per stack).
    pub fn from_env() -> Metrics {
        let namespace = std::env::var(NAMESPACE_VARIABLE)
            .ok()
            .filter(|n| !n.trim().is_empty());
        Metrics {
            namespace: Some(namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())),
        }
    }

    /// Emits nothing: for tests and local runs that want quiet output.
    pub fn disabled() -> Metrics {
        Metrics { namespace: None }
    }

    pub fn emit(&self, record: &Record<'_>, rollup: bool) {
        if record.counts.iter().all(|(_, count)| *count == 0) {
            return;
        }
        self.write(record, rollup);
    }

    /// Emits even a zero: for a state (a subscription resumed), where 0 is
    /// news that clears an alarm.
    pub fn emit_state(&self, record: &Record<'_>) {
        self.write(record, false);
    }

    fn write(&self, record: &Record<'_>, rollup: bool) {
        let Some(namespace) = &self.namespace else { return };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let line = emf_line(namespace, record, now, rollup);
        // One write per line so concurrent emitters never interleave.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_carries_dimensions_counts_and_a_rollup() {
        // GIVEN counts under two dimensions, with a rollup
        let record = Record {
            dimensions: vec![("Protocol", "events-api"), ("EventType", "product.updated")],
            counts: vec![("EventsReceived", 10), ("EventsQueued", 9)],
        };
        // WHEN the EMF line is built
        let line: Value =
            serde_json::from_str(&emf_line("Relay/test", &record, 1_700_000_000_000, true)).expect("JSON");
        // THEN CloudWatch finds both dimension sets, the metric names and their values
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Relay/test",
                        "Dimensions": [["Protocol", "EventType"], []],
                        "Metrics": [{"Name": "EventsReceived", "Unit": "Count"}, {"Name": "EventsQueued", "Unit": "Count"}]
                    }]
                },
                "Protocol": "events-api",
                "EventType": "product.updated",
                "EventsReceived": 10,
                "EventsQueued": 9
            })
        );
    }

    #[test]
    fn counts_without_dimensions_get_no_rollup() {
        // GIVEN counts without dimensions
        let record = Record {
            dimensions: vec![],
            counts: vec![("EventsProcessed", 3)],
        };
        // WHEN a rollup is asked for
        let line: Value = serde_json::from_str(&emf_line("N", &record, 1, true)).expect("JSON");
        // THEN there is one empty dimension set, not two
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }
}
