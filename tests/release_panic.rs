//! cargo-lambda, and so `sam build`, defaults release builds to panic = "abort";
//! the workspace profile sets "unwind" so one event's panic fails only its own
//! message. This builds a processor binary exactly as they do and runs it.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn a_panic_fails_only_its_message_in_a_cargo_lambda_release_build() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo_lambda = root.join(".tools/cargo-lambda/bin/cargo-lambda");
    assert!(
        cargo_lambda.exists(),
        "cargo-lambda is missing: run scripts/test, which installs it"
    );

    let build = Command::new(&cargo_lambda)
        .args([
            "lambda",
            "build",
            "--release",
            "--example",
            "panic_isolation",
            "--package",
            "processor",
        ])
        .current_dir(&root)
        .status()
        .expect("cargo lambda build runs");
    assert!(build.success(), "cargo lambda build failed");

    let binary = root.join("target/lambda/panic_isolation/bootstrap");
    let run = Command::new(&binary).output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the process died: {:?}\n{stderr}",
        run.status
    );
    assert_eq!(
        stdout.trim(),
        r#"{"batchItemFailures":[{"itemIdentifier":"m2"}]}"#,
        "stderr: {stderr}"
    );
}
