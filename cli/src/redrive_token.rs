//! The token that lets `redrive` (and nothing a browser can reach) ask a
//! running `serve` to move dead letters back: `serve` writes a fresh one,
//! readable by its user only, and removes it when it stops.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use shared::edges::local_http::redrive_token_path;
use uuid::Uuid;

use crate::error::CliError;

/// The token file of `serve` on `port`, removed when dropped.
pub struct TokenFile {
    pub path: PathBuf,
    pub token: String,
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes a new random token (244 random bits) for `serve` on `port`.
pub fn create(port: u16) -> Result<TokenFile, CliError> {
    let path = redrive_token_path(port);
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let written = write_private(&path, &token);
    written.map_err(|source| CliError::RedriveToken {
        path: path.clone(),
        source,
    })?;
    Ok(TokenFile { path, token })
}

/// The token of the `serve` running on `port`.
pub fn read(port: u16) -> Result<String, CliError> {
    let path = redrive_token_path(port);
    match std::fs::read_to_string(&path) {
        Ok(token) => Ok(token.trim().to_owned()),
        Err(source) => Err(CliError::RedriveToken { path, source }),
    }
}

/// A file from an earlier run is replaced, not reused: a new file is created
/// with owner-only permissions before the token goes in.
fn write_private(path: &PathBuf, token: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(token.as_bytes())
}
