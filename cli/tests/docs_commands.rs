//! The README's and the book's commands, run as a reader runs them: every
//! shell block marked ```` ```sh runnable ```` in README.md and docs/src,
//! against a real `serve`, with this build's `akeneo-relay` first on PATH.
//! A command the docs show that stopped working fails here, not in a reader's
//! terminal.

mod support;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Serve;

/// How many blocks the docs mark runnable (README.md: 5; docs/src/local.md
/// and docs/src/operations.md: 1 each). Finding fewer means a marker or the
/// parser broke: the test must not pass by running nothing.
const MARKED_BLOCKS: usize = 7;

/// `serve`'s default port: `send` has no port flag and the blocks use the
/// defaults a reader gets, so the test cannot pick a free port.
const DEFAULT_PORT: u16 = 3000;

/// The walk-through's `serve`: the blocks that follow it rely on its failing type.
const WALK_THROUGH_SERVE: &str = "cargo run -p akeneo-relay -- serve --fail product.deleted";
const WALK_THROUGH_ARGS: &[&str] = &["--fail", "product.deleted"];

/// Longer than any block should take (`doctor` waits up to 60 s for its probe).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// Variables that would point the commands at a deployment or an SQS queue
/// instead of the local `serve`.
const DEPLOYMENT_VARIABLES: &[&str] = &[
    "AKENEO_RELAY_STACK",
    "EVENT_PLATFORM_REQUEST_URL",
    "EVENTS_API_REQUEST_URL",
    "SIGNING_SECRETS_ARN",
    "TENANTS_SECRET_ARN",
    "TENANT_PIMS_SECRET_ARN",
    "EVENT_PLATFORM_SECRET",
    "QUEUE_URL",
    "DEAD_LETTER_QUEUE_URL",
];

struct Block {
    file: PathBuf,
    /// The line of the opening fence.
    line: usize,
    script: String,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// README.md, then the book's chapters in a stable order.
fn documentation() -> Vec<PathBuf> {
    fn markdown_under(folder: &Path, found: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                markdown_under(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    let root = repository();
    let mut files = vec![root.join("README.md")];
    markdown_under(&root.join("docs/src"), &mut files);
    files
}

/// A block being read: its fence, indentation, first line, and lines so far.
struct Open {
    fence: String,
    indentation: usize,
    runnable: bool,
    line: usize,
    lines: Vec<String>,
}

/// The fenced blocks whose info string is `sh` with the word `runnable`.
fn runnable_blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut blocks = Vec::new();
    let mut open: Option<Open> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indentation = line.len() - trimmed.len();
        let fence: String = trimmed.chars().take_while(|c| *c == '`').collect();
        let Some(block) = open.as_mut() else {
            if fence.len() >= 3 {
                let mut words = trimmed[fence.len()..]
                    .split([' ', ',', '\t'])
                    .filter(|w| !w.is_empty());
                let runnable = words.next() == Some("sh") && words.any(|w| w == "runnable");
                open = Some(Open {
                    fence,
                    indentation,
                    runnable,
                    line: index + 1,
                    lines: Vec::new(),
                });
            }
            continue;
        };
        if fence.len() >= block.fence.len() && trimmed.trim_end() == fence {
            let block = open.take().expect("an open block");
            if block.runnable {
                blocks.push(Block {
                    file: file.to_path_buf(),
                    line: block.line,
                    script: block.lines.join("\n"),
                });
            }
        } else {
            // A block inside a list item: its lines carry the item's indentation.
            block
                .lines
                .push(line[indentation.min(block.indentation)..].to_owned());
        }
    }
    blocks
}

fn all_runnable_blocks() -> Vec<Block> {
    documentation()
        .iter()
        .flat_map(|file| runnable_blocks(file))
        .collect()
}

/// Runs `block` as a reader would paste it, at the repository's root.
/// Answers the exit code (`None`: killed after [`BLOCK_TIMEOUT`]) and output.
fn run(block: &Block, path: &str) -> (Option<i32>, String, String) {
    let scratch = std::env::temp_dir().join(format!("docs-commands-{}-{}", std::process::id(), block.line));
    let (stdout_path, stderr_path) = (scratch.with_extension("out"), scratch.with_extension("err"));
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", &block.script])
        .current_dir(repository())
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("a stdout file"))
        .stderr(File::create(&stderr_path).expect("a stderr file"));
    for name in DEPLOYMENT_VARIABLES {
        command.env_remove(name);
    }
    let mut child = command.spawn().expect("bash starts");
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    let code = loop {
        if let Some(status) = child.try_wait().expect("bash's status") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |file: &Path| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let _ = std::fs::remove_file(file);
        text
    };
    (code, read(&stdout_path), read(&stderr_path))
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[test]
fn the_docs_mark_every_runnable_block_this_test_counts_on() {
    // GIVEN README.md and the book's chapters
    // WHEN their `sh runnable` blocks are collected
    let blocks = all_runnable_blocks();
    // THEN there are at least as many as were marked, none of them empty
    let found: Vec<String> = blocks
        .iter()
        .map(|b| format!("{}:{}", b.file.display(), b.line))
        .collect();
    assert!(
        blocks.len() >= MARKED_BLOCKS,
        "{} runnable blocks found, {MARKED_BLOCKS} marked: {found:#?}",
        blocks.len()
    );
    for block in &blocks {
        assert!(
            !block.script.trim().is_empty(),
            "{}:{}: an empty runnable block",
            block.file.display(),
            block.line
        );
    }
}

#[test]
fn every_runnable_block_of_the_docs_exits_0_against_a_local_serve() {
    // GIVEN the walk-through's serve on the default port, and the blocks to run
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    assert!(
        readme.contains(WALK_THROUGH_SERVE),
        "the README no longer starts serve with `{WALK_THROUGH_SERVE}`: start the same here"
    );
    if let Err(error) = TcpListener::bind(("127.0.0.1", DEFAULT_PORT)) {
        panic!(
            "port {DEFAULT_PORT} is taken ({error}): the docs' commands talk to serve's default port; \
             stop whatever listens there and run again"
        );
    }
    // Blank secrets count as unset: serve uses the development secrets the
    // blocks sign with, whatever the shell running the tests exports.
    let no_secrets = [
        ("EVENTS_API_SECRETS", ""),
        ("EVENT_PLATFORM_SECRETS", ""),
        ("EVENT_PLATFORM_NOTIFICATION_SECRET", ""),
    ];
    let serve = Serve::start_on(DEFAULT_PORT, WALK_THROUGH_ARGS, None, &no_secrets);
    let blocks = all_runnable_blocks();
    assert!(
        blocks.len() >= MARKED_BLOCKS,
        "only {} runnable blocks found",
        blocks.len()
    );
    let binary = PathBuf::from(support::binary());
    let path = format!(
        "{}:{}",
        binary.parent().expect("the binary's folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // WHEN each block runs with bash -euo pipefail, in the order a reader meets them
    let failures: Vec<String> = blocks
        .iter()
        .filter_map(|block| {
            let (code, stdout, stderr) = run(block, &path);
            (code != Some(0)).then(|| {
                format!(
                    "{}:{}: exit {}\n--- block\n{}\n--- stdout\n{stdout}--- stderr\n{stderr}",
                    block.file.display(),
                    block.line,
                    code.map_or("none (timed out)".to_owned(), |c| c.to_string()),
                    block.script
                )
            })
        })
        .collect();

    // THEN every one exits 0
    assert!(
        failures.is_empty(),
        "{} of {} runnable blocks failed:\n\n{}\n\n--- serve's last lines\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n"),
        last_lines(&serve.output(), 60)
    );
}
