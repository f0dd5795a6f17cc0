//! The release binaries, built once per test run with `cargo lambda build
//! --release` exactly as `sam build` builds them (scripts/test runs the same
//! build first, so here it is a freshness check).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// cargo-lambda's venv bin first on PATH (it links with the zig its package
/// brings), once: scripts/test has already put it there.
pub fn tools_path() -> String {
    let tools = root().join(".tools/cargo-lambda/bin");
    assert!(
        tools.join("cargo-lambda").exists(),
        "cargo-lambda is missing: run scripts/test, which installs it"
    );
    let tools = tools.canonicalize().expect("tools folder");
    let path = std::env::var("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.canonicalize().ok().as_ref() == Some(&tools)) {
        path
    } else {
        format!("{}:{path}", tools.display())
    }
}

/// A cargo command with the environment scripts/test gave cargo, not the one
/// cargo gives a test: build scripts (ring's among them) rerun when
/// `CARGO_PKG_NAME` and the like change, which would rebuild half the tree.
pub fn cargo() -> Command {
    let mut command = Command::new("cargo");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if (name.starts_with("CARGO_") && name != "CARGO_HOME") || name == "CARGO" {
            command.env_remove(name);
        }
    }
    command.env("PATH", tools_path()).current_dir(root());
    command
}

/// The same command scripts/test runs; `sam build` runs it per function with
/// the same feature set, so all three share one compilation.
pub const BUILD_ARGS: [&str; 10] = [
    "lambda",
    "build",
    "--release",
    "--locked",
    "--bin",
    "receiver",
    "--bin",
    "processor",
    "--bin",
    "panic_isolation",
];

/// `target/lambda/<name>/bootstrap`, built (or found fresh) once per run.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = cargo()
            .args(BUILD_ARGS)
            .status()
            .expect("cargo lambda build runs");
        assert!(status.success(), "cargo lambda build failed");
    });
    let path = root().join(format!("target/lambda/{name}/bootstrap"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}
