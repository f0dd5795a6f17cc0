//! The release a user deploys without Rust: `scripts/package --arch x86_64`,
//! made (or found fresh) once per run, and the bootstraps taken back out of
//! its zips for the end-to-end tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::release::{cargo_free_command, root};

/// Every file this workspace's packages build shares this version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `dist/akeneo-event-relay-<version>-x86_64/`: the unzipped release.
pub fn folder() -> PathBuf {
    static PACKAGED: OnceLock<PathBuf> = OnceLock::new();
    PACKAGED
        .get_or_init(|| {
            let status = cargo_free_command(root().join("scripts/package"))
                .args(["--arch", "x86_64"])
                .status()
                .expect("scripts/package runs");
            assert!(status.success(), "scripts/package failed");
            root().join(format!("dist/akeneo-event-relay-{VERSION}-x86_64"))
        })
        .clone()
}

/// The release's archive beside its folder.
pub fn archive() -> PathBuf {
    let folder = folder();
    let name = folder.file_name().expect("a folder name").to_string_lossy();
    folder.with_file_name(format!("{name}.zip"))
}

/// A function's `bootstrap`, extracted from the release's `<name>.zip` with
/// the mode the zip gives it (Lambda runs it only if it is executable).
/// Once per run and name: rewriting a bootstrap another test is running
/// would fail with "text file busy".
pub fn bootstrap(name: &str) -> PathBuf {
    static EXTRACTED: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut extracted = EXTRACTED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    extracted
        .entry(name.to_owned())
        .or_insert_with(|| {
            let zip = folder().join(format!("{name}.zip"));
            let target = root().join(format!("target/packaged/{name}/bootstrap"));
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("target/packaged");
            unzip_entry(&zip, "bootstrap", &target);
            target
        })
        .clone()
}

/// One entry of a zip, written with the Unix mode recorded in the zip.
pub fn unzip_entry(zip: &Path, entry: &str, target: &Path) {
    let status = Command::new("python3")
        .args([
            "-c",
            "import os, sys, zipfile\n\
             archive = zipfile.ZipFile(sys.argv[1])\n\
             info = archive.getinfo(sys.argv[2])\n\
             open(sys.argv[3], 'wb').write(archive.read(info))\n\
             os.chmod(sys.argv[3], (info.external_attr >> 16) & 0o777)",
        ])
        .arg(zip)
        .arg(entry)
        .arg(target)
        .status()
        .expect("python3 runs");
    assert!(
        status.success(),
        "{entry} could not be taken out of {}",
        zip.display()
    );
}
