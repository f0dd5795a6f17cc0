//! The catch-up at Akeneo's limits: 100,000 products on the PIM test server
//! answering each call after 100 ms (a SaaS search's round trip), 4 calls
//! in flight, 100 per page, queued onto a real `serve`. Prints the time
//! against the bound those limits set (pages × round trip / 4), the
//! catch-up process's peak memory, and what a second run over the same
//! window costs the business logic. A load script, not criterion: one run
//! is the measurement (`cargo bench -p akeneo-relay --bench catch_up`).

#[path = "../../tests/support/pim.rs"]
mod pim;
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pim::{CLIENT_ID, CLIENT_SECRET, Config, PASSWORD, PimServer, USERNAME};
use support::Serve;

const PRODUCTS: usize = 100_000;
const ROUND_TRIP: Duration = Duration::from_millis(100);
const IN_FLIGHT: u32 = 4;
const PAGE: usize = 100;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config {
        latency: ROUND_TRIP,
        ..Config::default()
    };
    let pim = runtime.block_on(PimServer::start(config, &[], &[]));
    // Spread over the day, off the slices' boundary seconds.
    pim.put_products((0..PRODUCTS).map(|n| {
        let second = 1 + (n * 86_390) / PRODUCTS;
        let at = format!(
            "2026-12-01T{:02}:{:02}:{:02}+00:00",
            second / 3_600,
            (second / 60) % 60,
            second % 60
        );
        (format!("00000000-0000-4000-8000-{n:012}"), at)
    }));
    let serve = Serve::start(&[], None, &[]);
    let bound = ROUND_TRIP * (PRODUCTS / PAGE) as u32 / IN_FLIGHT;

    let first = run(&pim, &serve, "first");
    wait_for_logic(&serve, PRODUCTS);
    let logic_after_first = logic_runs(&serve);
    let second = run(&pim, &serve, "second");
    let processed_target = PRODUCTS * 2;
    let deadline = Instant::now() + Duration::from_secs(300);
    while count_lines(&serve, &["message processed"]) < processed_target && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
    }
    let logic_after_second = logic_runs(&serve);

    println!(
        "catch-up of {PRODUCTS} products, {ROUND_TRIP:?} per call, {IN_FLIGHT} in flight, {PAGE} per page"
    );
    println!(
        "  bound (pages x round trip / {IN_FLIGHT}): {:.1} s",
        bound.as_secs_f64()
    );
    for (name, result) in [("first run", &first), ("second run", &second)] {
        println!(
            "  {name}: {:.1} s ({:+.1} % of the bound), {} pages, {} queued, peak RSS {:.1} MB",
            result.elapsed.as_secs_f64(),
            (result.elapsed.as_secs_f64() / bound.as_secs_f64() - 1.0) * 100.0,
            result.summary["pages"],
            result.summary["queued"],
            result.peak_rss_kb as f64 / 1024.0
        );
    }
    println!(
        "  business logic runs: {logic_after_first} after the first run, {} more after the second",
        logic_after_second - logic_after_first
    );
}

struct Run {
    elapsed: Duration,
    peak_rss_kb: u64,
    summary: serde_json::Value,
}

fn run(pim: &PimServer, serve: &Serve, name: &str) -> Run {
    let checkpoint = std::env::temp_dir().join(format!("catch-up-bench-{}-{name}.json", std::process::id()));
    let started = Instant::now();
    let mut child = Command::new(support::binary())
        .args([
            "catch-up",
            "--since",
            "2026-12-01T00:00:00Z",
            "--until",
            "2026-12-02T00:00:00Z",
            "--json",
        ])
        .args(["--port", &serve.port.to_string()])
        .args([
            "--pim-url",
            &pim.url,
            "--pim-client-id",
            CLIENT_ID,
            "--pim-client-secret",
            CLIENT_SECRET,
        ])
        .args(["--pim-username", USERNAME, "--pim-password", PASSWORD])
        .arg("--checkpoint")
        .arg(&checkpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("catch-up starts");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:").map(str::to_owned))
            })
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(hwm);
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let output = child.wait_with_output().expect("output");
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("no summary: {:?}", output));
    assert_eq!(summary["finished"], true, "{summary}");
    let _ = std::fs::remove_file(checkpoint);
    Run {
        elapsed,
        peak_rss_kb: peak,
        summary,
    }
}

/// Counted on the raw lines: parsing serve's 100 MB of logs every poll
/// would take the cores the catch-up is measured on.
fn count_lines(serve: &Serve, parts: &[&str]) -> usize {
    serve
        .output()
        .lines()
        .filter(|line| parts.iter().all(|part| line.contains(part)))
        .count()
}

fn logic_runs(serve: &Serve) -> usize {
    count_lines(serve, &["event received", r#""protocol":"catch-up""#])
}

fn wait_for_logic(serve: &Serve, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while logic_runs(serve) < count {
        assert!(
            Instant::now() < deadline,
            "the logic saw {} of {count}",
            logic_runs(serve)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}
