//! Custom metrics as CloudWatch Embedded Metric Format: one JSON line on stdout
//! per record, turned into metrics by CloudWatch Logs. No API calls, no latency.

use std::time::{SystemTime, UNIX_EPOCH};

use super::output;

/// The environment variable naming the metrics' CloudWatch namespace.
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
/// The namespace when that variable is unset.
pub const DEFAULT_NAMESPACE: &str = "AkeneoEventRelay";

/// Counts published under one set of dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// (name, value) of each dimension.
    pub dimensions: Vec<(&'static str, &'a str)>,
    /// (metric name, count) of each metric.
    pub counts: Vec<(&'static str, u64)>,
}

/// The dimension naming a tenant (see [`crate::core::tenant`]): a
/// drill-down, so a record with it is also published under the same
/// dimensions without it, and every total, alarm and widget that predates
/// tenants counts the tenants' events too.
pub const TENANT_DIMENSION: &str = "Tenant";

/// Builds one EMF line; also publishes the counts without dimensions when
/// `rollup` is set, for totals across every value of a dimension, and
/// without [`TENANT_DIMENSION`] when the record has it.
pub fn emf_line(namespace: &str, record: &Record<'_>, timestamp_ms: u128, rollup: bool) -> String {
    let mut line = Vec::with_capacity(LINE_CAPACITY);
    write_emf(&mut line, namespace, record, timestamp_ms, rollup);
    // Only JSON text built from `&str`s goes in, so it is always UTF-8.
    String::from_utf8(line).unwrap_or_default()
}

/// Room for a line with two dimensions and two counts without growing.
const LINE_CAPACITY: usize = 320;

/// Writes the EMF line straight as text: the receiver writes two per request,
/// and building them as `serde_json::Value` maps first cost more than the
/// request's signature check.
fn write_emf(out: &mut Vec<u8>, namespace: &str, record: &Record<'_>, timestamp_ms: u128, rollup: bool) {
    out.extend_from_slice(b"{\"_aws\":{\"Timestamp\":");
    out.extend_from_slice(timestamp_ms.to_string().as_bytes());
    out.extend_from_slice(b",\"CloudWatchMetrics\":[{\"Namespace\":");
    push_string(out, namespace);
    out.extend_from_slice(b",\"Dimensions\":[[");
    for (index, (name, _)) in record.dimensions.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        push_string(out, name);
    }
    out.push(b']');
    let without_tenant: Vec<&str> = record
        .dimensions
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != TENANT_DIMENSION)
        .collect();
    if without_tenant.len() < record.dimensions.len() {
        out.extend_from_slice(b",[");
        for (index, name) in without_tenant.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            push_string(out, name);
        }
        out.push(b']');
    }
    if rollup && !without_tenant.is_empty() {
        out.extend_from_slice(b",[]");
    }
    out.extend_from_slice(b"],\"Metrics\":[");
    for (index, (name, _)) in record.counts.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"Name\":");
        push_string(out, name);
        out.extend_from_slice(b",\"Unit\":\"Count\"}");
    }
    out.extend_from_slice(b"]}]}");
    for (name, value) in &record.dimensions {
        out.push(b',');
        push_string(out, name);
        out.push(b':');
        push_string(out, value);
    }
    for (name, count) in &record.counts {
        out.push(b',');
        push_string(out, name);
        out.push(b':');
        out.extend_from_slice(count.to_string().as_bytes());
    }
    out.push(b'}');
}

fn push_string(out: &mut Vec<u8>, value: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
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

    /// Emits `record` (and, with `rollup`, its totals without dimensions); a
    /// record whose counts are all zero is skipped.
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
        let mut line = Vec::with_capacity(LINE_CAPACITY);
        write_emf(&mut line, namespace, record, now, rollup);
        line.push(b'\n');
        output::write_line(&line);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

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
    fn a_tenants_counts_are_also_published_without_the_tenant() {
        // GIVEN a tenant's counts under its protocol
        let record = Record {
            dimensions: vec![("Protocol", "event-platform"), (TENANT_DIMENSION, "acme")],
            counts: vec![("EventsQueued", 3)],
        };
        // WHEN the EMF line is built, with and without a rollup
        let dimensions = |rollup| {
            let line: Value = serde_json::from_str(&emf_line("N", &record, 1, rollup)).expect("JSON");
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone()
        };
        // THEN the protocol's total (what the alarms and widgets read) counts them too
        assert_eq!(dimensions(false), json!([["Protocol", "Tenant"], ["Protocol"]]));
        assert_eq!(
            dimensions(true),
            json!([["Protocol", "Tenant"], ["Protocol"], []])
        );
    }

    #[test]
    fn a_tenant_alone_rolls_up_into_the_total_once() {
        // GIVEN a tenant's processor outcomes, under the tenant only
        let record = Record {
            dimensions: vec![(TENANT_DIMENSION, "acme")],
            counts: vec![("EventsProcessed", 3)],
        };
        // WHEN the EMF line is built with a rollup
        let line: Value = serde_json::from_str(&emf_line("N", &record, 1, true)).expect("JSON");
        // THEN the total is published once
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Tenant"], []])
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

    #[test]
    fn a_dimension_value_with_quotes_stays_valid_json() {
        // GIVEN an event type as a sender could make it up
        let record = Record {
            dimensions: vec![("EventType", "product\"updated\\\n")],
            counts: vec![("EventsReceived", 1)],
        };
        // WHEN the EMF line is built
        let line: Value = serde_json::from_str(&emf_line("N", &record, 1, false)).expect("JSON");
        // THEN the value reads back exactly
        assert_eq!(line["EventType"], json!("product\"updated\\\n"));
    }
}
