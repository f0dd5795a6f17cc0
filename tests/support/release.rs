//! The release binaries, built once per test run with `cargo lambda build
//! --release` (scripts/test runs the same build first, so here it is a
//! freshness check); the Lambdas themselves come out of the release's zips.

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

/// A command with the environment scripts/test gave cargo, not the one
/// cargo gives a test: build scripts (ring's among them) rerun when
/// `CARGO_PKG_NAME` and the like change, which would rebuild half the tree.
pub fn cargo_free_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        // scripts/test builds the tests with clippy-driver around rustc; the
        // release binaries were built without it, and must be found fresh.
        let lint_only = matches!(name.as_str(), "RUSTC_WORKSPACE_WRAPPER" | "CLIPPY_ARGS");
        if (name.starts_with("CARGO_") && name != "CARGO_HOME") || name == "CARGO" || lint_only {
            command.env_remove(name);
        }
    }
    command.env("PATH", tools_path()).current_dir(root());
    command
}

/// `cargo`, run as scripts/test runs it.
pub fn cargo() -> Command {
    cargo_free_command("cargo")
}

/// The same command scripts/test runs before scripts/package, which then finds
/// the receiver and the processor fresh: plain cargo (no zig) for x86_64, one
/// compilation for the three.
pub const BUILD_ARGS: [&str; 15] = [
    "lambda",
    "build",
    "--release",
    "--locked",
    "--compiler",
    "cargo",
    "--x86-64",
    "--lambda-dir",
    "target/lambda-x86_64",
    "--bin",
    "receiver",
    "--bin",
    "processor",
    "--bin",
    "panic_isolation",
];

/// A release bootstrap as Lambda gets it: the receiver and the processor from
/// the release's zips (scripts/package), the test-only panic proof from
/// `target/lambda-x86_64/`, each built (or found fresh) once per run.
pub fn binary(name: &str) -> PathBuf {
    if matches!(name, "receiver" | "processor") {
        return super::package::bootstrap(name);
    }
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = cargo()
            .args(BUILD_ARGS)
            .status()
            .expect("cargo lambda build runs");
        assert!(status.success(), "cargo lambda build failed");
    });
    let path = root().join(format!("target/lambda-x86_64/{name}/bootstrap"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}
