//! The CLI's flags as users type them (issue 23, item 9): connection flags
//! after a nested subcommand as well as before it, `doctor --json`, and the
//! words of `serve`'s banner. Each test failed against the CLI before it.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{Serve, free_port};

/// Every variable a connection flag falls back to: the tests give what they
/// mean to give, whatever the shell running them has set.
const CONNECTION_VARIABLES: &[&str] = &[
    "PIM_URL",
    "PIM_CLIENT_ID",
    "PIM_CLIENT_SECRET",
    "PIM_USERNAME",
    "PIM_PASSWORD",
    "PIM_SECRET_ARN",
    "EVENT_PLATFORM_API_URL",
    "AKENEO_RELAY_STACK",
    "EVENT_PLATFORM_REQUEST_URL",
    "SIGNING_SECRETS_ARN",
    "EVENTS_API_REQUEST_URL",
    "EVENT_PLATFORM_SECRET",
];

/// `akeneo-relay <args>` with no connection variable but those in `env`.
fn relay(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_akeneo-relay"));
    for name in CONNECTION_VARIABLES {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("akeneo-relay runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Clap's words for a flag the command does not take; exit code 2 alone
/// does not tell it from the CLI's own errors.
fn refused_by_clap(output: &Output) -> bool {
    stderr(output).contains("unexpected argument")
}

const PIM_CREDENTIALS: &[&str] = &[
    "--pim-client-id",
    "id",
    "--pim-client-secret",
    "secret",
    "--pim-username",
    "user",
    "--pim-password",
    "password",
];

#[test]
fn a_request_url_after_subscriptions_show_is_taken() {
    // GIVEN the flags typed after the subcommand, as users type them
    let args = [
        "subscriptions",
        "show",
        "--request-url",
        "http://127.0.0.1:1/event-platform",
        "--pim-url",
        "http://127.0.0.1:1",
    ];
    // WHEN the command runs
    let output = relay(&args, &[]);
    // THEN clap takes them, and the command goes on to what is really missing:
    // the credentials, since --pim-url reached it
    assert!(!refused_by_clap(&output), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("PIM_CLIENT_ID is not set"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_connection_flag_is_accepted_after_each_subscriptions_action() {
    // GIVEN every connection flag, after each nested subcommand (clap stops
    // at the first flag it does not know, before --help)
    let flags = [
        "--pim-url",
        "http://127.0.0.1:1",
        "--pim-client-id",
        "id",
        "--pim-client-secret",
        "secret",
        "--pim-username",
        "user",
        "--pim-password",
        "password",
        "--pim-secret-arn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:pim",
        "--subscriber-name",
        "relay",
        "--management-url",
        "http://127.0.0.1:1/api/v1",
        "--stack",
        "my-relay",
        "--request-url",
        "http://127.0.0.1:1/event-platform",
        "--secrets-arn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing",
        "--json",
        "--help",
    ];
    for action in ["list", "show", "suspend", "resume", "delete"] {
        // WHEN they are parsed
        let args: Vec<&str> = ["subscriptions", action].into_iter().chain(flags).collect();
        let output = relay(&args, &[]);
        // THEN each is accepted, and the help lists them
        assert_eq!(output.status.code(), Some(0), "{action}: {}", stderr(&output));
        for flag in flags.iter().filter(|f| f.starts_with("--")) {
            assert!(stdout(&output).contains(flag), "{action} --help lacks {flag}");
        }
    }
}

/// The request lines a fake PIM and management API received while
/// `akeneo-relay subscriptions <args>` ran: every answer is a PIM token, so
/// the first management call is the last (its answer is not a list).
fn management_requests(args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("address").port()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some(value) = line.to_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let _ = reader.by_ref().take(length).read_to_end(&mut Vec::new());
            recorded
                .lock()
                .expect("lock")
                .push(request_line.trim().to_owned());
            let body = r#"{"access_token":"t","expires_in":3600,"token_type":"bearer","refresh_token":"r"}"#;
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let with_base = |s: &str| s.replace("{base}", &base);
    let args: Vec<String> = args.iter().map(|a| with_base(a)).collect();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), with_base(v))).collect();
    let mut command: Vec<&str> = vec!["subscriptions"];
    command.extend(args.iter().map(String::as_str));
    command.extend(["--pim-url", &base]);
    command.extend(PIM_CREDENTIALS);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let output = relay(&command, &env);
    assert!(!refused_by_clap(&output), "{}", stderr(&output));
    seen.lock().expect("lock").clone()
}

#[test]
fn a_management_url_after_subscriptions_list_wins_over_its_variable() {
    // GIVEN the management API in the variable, and another after the subcommand
    let args = ["list", "--management-url", "{base}/from-flag"];
    let env = [("EVENT_PLATFORM_API_URL", "{base}/from-variable")];
    // WHEN the command runs
    let requests = management_requests(&args, &env);
    // THEN the flag is the one called, as a flag before the subcommand would be
    assert!(requests.iter().any(|r| r.contains("/from-flag/")), "{requests:?}");
    assert!(
        !requests.iter().any(|r| r.contains("/from-variable/")),
        "{requests:?}"
    );
}

#[test]
fn a_management_url_before_the_action_still_wins_over_its_variable() {
    // GIVEN the management API in the variable, and another before the action
    // (a global flag's default must not overwrite what was given above it)
    let args = ["--management-url", "{base}/from-flag", "list"];
    let env = [("EVENT_PLATFORM_API_URL", "{base}/from-variable")];
    // WHEN the command runs
    let requests = management_requests(&args, &env);
    // THEN the flag is the one called
    assert!(requests.iter().any(|r| r.contains("/from-flag/")), "{requests:?}");
    assert!(
        !requests.iter().any(|r| r.contains("/from-variable/")),
        "{requests:?}"
    );
}

#[test]
fn the_management_url_variable_serves_without_the_flag() {
    // GIVEN the management API only in its variable
    let env = [("EVENT_PLATFORM_API_URL", "{base}/from-variable")];
    // WHEN the command runs
    let requests = management_requests(&["list"], &env);
    // THEN the variable is the one called
    assert!(
        requests.iter().any(|r| r.contains("/from-variable/")),
        "{requests:?}"
    );
}

#[test]
fn doctor_help_lists_json() {
    // WHEN doctor's help is asked for
    let output = relay(&["doctor", "--json", "--help"], &[]);
    // THEN --json is one of its flags
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("--json"), "{}", stdout(&output));
}

#[test]
fn doctor_json_against_a_healthy_local_serve_is_one_object_that_passes() {
    // GIVEN serve with its development secrets
    let serve = Serve::start(&[], None, &[]);
    // WHEN doctor checks it for a script
    let output = relay(&["doctor", "--json", "--port", &serve.port.to_string()], &[]);
    // THEN stdout is one JSON object: every check by name, and ok overall
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(report["ok"], true, "{report}");
    let outcome = |name: &str| {
        report["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["name"] == name))
            .map(|c| c["outcome"].clone())
    };
    assert_eq!(outcome("request_url_answers_head"), Some("ok".into()), "{report}");
    assert_eq!(outcome("test_event_accepted"), Some("ok".into()), "{report}");
    assert_eq!(outcome("test_event_processed"), Some("ok".into()), "{report}");
    assert_eq!(outcome("subscription_active"), Some("skipped".into()), "{report}");
}

#[test]
fn doctor_json_with_nothing_listening_fails_with_the_same_exit_code() {
    // GIVEN a port nothing listens on
    let port = free_port().to_string();
    // WHEN doctor checks it for a script
    let output = relay(&["doctor", "--json", "--port", &port, "--within", "1"], &[]);
    // THEN the JSON says what failed and why, and the exit code is the human output's
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON object");
    assert_eq!(report["ok"], false, "{report}");
    let head = &report["checks"][0];
    assert_eq!(head["name"], "request_url_answers_head", "{report}");
    assert_eq!(head["outcome"], "failed", "{report}");
    assert!(
        head["detail"].as_str().is_some_and(|d| d.contains(&port)),
        "{report}"
    );
}

/// `serve`'s line about the PIM connection, with this many calls at a time.
fn pim_banner(max_concurrent_calls: &str) -> String {
    // Nothing answers at port 1: serve starts anyway and asks for a token later.
    let mut args = vec![
        "--pim-url",
        "http://127.0.0.1:1",
        "--pim-max-concurrent-calls",
        max_concurrent_calls,
    ];
    args.extend(PIM_CREDENTIALS);
    let serve = Serve::start(&args, None, &[]);
    let output = serve.wait_for_output("  PIM: ", Duration::from_secs(5));
    output
        .lines()
        .find(|line| line.starts_with("  PIM: "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn serve_says_one_call_at_a_time_in_the_singular() {
    // WHEN serve starts with one PIM call at a time
    let banner = pim_banner("1");
    // THEN it says so in English
    assert!(banner.contains("(1 call at a time)"), "{banner}");
}

#[test]
fn serve_says_several_calls_at_a_time_in_the_plural() {
    // WHEN serve starts with Akeneo's four PIM calls at a time
    let banner = pim_banner("4");
    // THEN it says so in English
    assert!(banner.contains("(4 calls at a time)"), "{banner}");
}
