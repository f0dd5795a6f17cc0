//! The release a user deploys with the SAM CLI alone (scripts/package): its
//! template validates and uploads with no Rust toolchain on the machine, and
//! points at the zips the script made. The end-to-end tests in
//! release_binaries.rs run the bootstraps taken out of those zips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yaml_serde::Value;

use crate::support::moto;
use crate::support::package::{self, VERSION};
use crate::support::release::root;

/// The packaged template's functions and the zip each should point at.
const FUNCTIONS: [(&str, &str); 2] = [
    ("ReceiverFunction", "receiver.zip"),
    ("ProcessorFunction", "processor.zip"),
];

/// A PATH that holds no cargo, rustc or cargo-lambda (rustup puts them in
/// ~/.cargo/bin): what a user without a Rust toolchain has, plus the SAM CLI.
fn path_without_rust() -> String {
    format!("{}:/usr/bin:/bin", root().join(".tools/sam/bin").display())
}

fn sam_without_rust(folder: &Path) -> Command {
    let mut command = Command::new(root().join(".tools/sam/bin/sam"));
    command
        .env("PATH", path_without_rust())
        .env("SAM_CLI_TELEMETRY", "0")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .current_dir(folder);
    command
}

fn succeeded(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).expect("the template is YAML")
}

/// The names and Unix modes of a zip's entries.
fn zip_entries(zip: &Path) -> Vec<(String, u32)> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\n\
             for info in zipfile.ZipFile(sys.argv[1]).infolist():\n    \
             print(info.filename, oct((info.external_attr >> 16) & 0o7777))",
        ])
        .arg(zip)
        .output()
        .expect("python3 runs");
    succeeded("listing the zip", &output);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (name, mode) = line.rsplit_once(' ').expect("name and mode");
            let mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8).expect("octal");
            (name.to_owned(), mode)
        })
        .collect()
}

#[test]
fn the_packaged_template_passes_sam_validate_lint_with_no_rust_toolchain_on_path() {
    // GIVEN the x86_64 release folder, and a PATH without any Rust tool
    let folder = package::folder();
    for tool in ["cargo", "rustc", "cargo-lambda"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .env("PATH", path_without_rust())
            .output()
            .expect("sh runs");
        assert!(!found.status.success(), "{tool} is still on the reduced PATH");
    }
    // WHEN `sam validate --lint` checks the packaged template
    let validated = sam_without_rust(&folder)
        .args([
            "validate",
            "--lint",
            "--template-file",
            "template.yaml",
            "--region",
            "us-east-1",
        ])
        .output()
        .expect("sam runs");
    // THEN it passes
    succeeded("sam validate --lint", &validated);
}

#[test]
fn the_packaged_templates_code_locations_are_the_executable_bootstraps_the_script_zipped() {
    // GIVEN the x86_64 release folder
    let folder = package::folder();
    // WHEN its template is read
    let template = yaml(&folder.join("template.yaml"));
    // THEN each function's code is a zip beside it holding only an executable bootstrap,
    // with nothing left to build and no architecture its binaries were not built for
    for (function, zip) in FUNCTIONS {
        let resource = &template["Resources"][function];
        assert_eq!(
            resource["Properties"]["CodeUri"].as_str(),
            Some(zip),
            "{function}"
        );
        assert!(
            resource["Metadata"].is_null(),
            "{function} still has a build method"
        );
        assert_eq!(
            zip_entries(&folder.join(zip)),
            vec![("bootstrap".to_owned(), 0o755)],
            "{zip}"
        );
    }
    assert!(template["Globals"]["Function"]["CodeUri"].is_null());
    let architecture = &template["Parameters"]["Architecture"];
    assert_eq!(architecture["Default"].as_str(), Some("x86_64"));
    assert_eq!(architecture["AllowedValues"].as_sequence().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn sam_package_uploads_the_release_as_sam_deploy_does_first() {
    // GIVEN the release folder and an artefact bucket (moto's S3)
    let folder = package::folder();
    let s3 = moto::s3().await;
    let bucket = moto::create_bucket(&s3, "release-artefacts").await;
    let output = std::env::temp_dir().join(format!("packaged-{}.yaml", std::process::id()));
    // WHEN `sam package` uploads it, with no Rust toolchain on PATH
    let packaged = sam_without_rust(&folder)
        .args([
            "package",
            "--template-file",
            "template.yaml",
            "--s3-bucket",
            &bucket,
            "--region",
            "us-east-1",
        ])
        .arg("--output-template-file")
        .arg(&output)
        .output()
        .expect("sam runs");
    succeeded("sam package", &packaged);
    // THEN each function's code is the uploaded zip, byte for byte
    let template = yaml(&output);
    for (function, zip) in FUNCTIONS {
        let uri = template["Resources"][function]["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{function} has no CodeUri"));
        let key = uri
            .strip_prefix(&format!("s3://{bucket}/"))
            .unwrap_or_else(|| panic!("{function}: {uri} is not in the bucket"));
        let uploaded = moto::object(&s3, &bucket, key).await.expect("the object exists");
        assert_eq!(
            uploaded,
            std::fs::read(folder.join(zip)).expect("the zip"),
            "{zip}"
        );
    }
    // AND the Serverless Application Repository listing's README and licence went up too
    let listing = &template["Metadata"]["AWS::ServerlessRepo::Application"];
    for field in ["ReadmeUrl", "LicenseUrl"] {
        let url = listing[field].as_str().unwrap_or_default();
        assert!(url.starts_with(&format!("s3://{bucket}/")), "{field}: {url}");
    }
}

#[test]
fn the_release_the_crate_and_the_repository_listing_share_one_version() {
    // GIVEN the workspace's version (Cargo.toml)
    // WHEN the source template, the packaged template and the CHANGELOG are read
    let source = yaml(&root().join("template.yaml"));
    let packaged = yaml(&package::folder().join("template.yaml"));
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).expect("CHANGELOG.md");
    // THEN they all name it
    for template in [&source, &packaged] {
        let listing = &template["Metadata"]["AWS::ServerlessRepo::Application"];
        assert_eq!(listing["SemanticVersion"].as_str(), Some(VERSION));
        assert!(
            listing["SourceCodeUrl"]
                .as_str()
                .is_some_and(|url| url.ends_with(&format!("/tree/v{VERSION}"))),
            "{:?}",
            listing["SourceCodeUrl"]
        );
    }
    assert!(
        changelog.contains(&format!("## {VERSION}")),
        "CHANGELOG.md has no {VERSION} section"
    );
}

#[test]
fn packaging_the_same_binaries_twice_gives_byte_identical_archives() {
    // GIVEN the release made from this commit's binaries
    let first = package::archive();
    let again: PathBuf = std::env::temp_dir().join(format!("dist-again-{}", std::process::id()));
    // WHEN the same binaries are packaged again into another folder
    let status = Command::new(root().join(".tools/sam/bin/python"))
        .arg(root().join("scripts/package_release.py"))
        .args(["--arch", "x86_64", "--binaries"])
        .arg(root().join("target/lambda-x86_64"))
        .arg("--out")
        .arg(&again)
        .env("SOURCE_DATE_EPOCH", commit_time())
        .current_dir(root())
        .status()
        .expect("package_release.py runs");
    assert!(status.success());
    // THEN the archive is the same, byte for byte
    let second = again.join(first.file_name().expect("a file name"));
    assert!(
        std::fs::read(&first).expect("first") == std::fs::read(&second).expect("second"),
        "{} and {} differ",
        first.display(),
        second.display()
    );
}

fn commit_time() -> String {
    let output = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root())
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
