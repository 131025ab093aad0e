//! Where the API token comes from: a token file only its owner can read, a credential command
//! (like git's credential helpers), or `MODQ_TOKEN`. The token is handed to the HTTP client
//! and nowhere else: no message, log line or file ever contains it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A token file larger than this is not a token file (and `/dev/zero` must not hang modq).
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// Where to look, first match wins: the file, then the command, then the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSource {
    /// `--token-file FILE`, or a profile's `token_file`.
    pub file: Option<PathBuf>,
    /// `--token-command CMD` / `MODQ_TOKEN_COMMAND`, or a profile's `token_command`; run
    /// with `sh -c`.
    pub command: Option<String>,
    /// The environment variable holding the token: a profile's `token_env`, else `MODQ_TOKEN`.
    pub env: Option<String>,
    /// The config profile these came from, named in messages instead of the command-line
    /// options.
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(String);

impl TokenSource {
    pub fn read(&self) -> Result<String, CredentialError> {
        if let Some(path) = &self.file {
            return from_file(path);
        }
        if let Some(command) = self.command.as_deref().filter(|c| !c.trim().is_empty()) {
            return match &self.profile {
                None => from_command(command),
                Some(name) => run_command(
                    command,
                    &format!("the token command of profile {name:?} (token_command)"),
                ),
            };
        }
        let var = self.env.as_deref().unwrap_or("MODQ_TOKEN");
        match std::env::var(var) {
            Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            _ => Err(CredentialError(match &self.profile {
                None => format!(
                    "no API token: set {var} or pass --token-file FILE or --token-command CMD"
                ),
                Some(name) => format!(
                    "no token for profile {name:?}: set {var}, or give the profile a \
                     token_file, token_command or token_env in config.toml"
                ),
            })),
        }
    }
}

/// Reads a token file, refusing one that other users could read too.
pub fn from_file(path: &Path) -> Result<String, CredentialError> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| CredentialError(format!("cannot read the token file {shown}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| CredentialError(format!("cannot read the token file {shown}: {e}")))?;
    check_private(path, &meta)?;
    let mut text = String::new();
    file.take(MAX_TOKEN_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| CredentialError(format!("cannot read the token file {shown}: {e}")))?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(CredentialError(format!("the token file {shown} is empty")));
    }
    Ok(token)
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), CredentialError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        let shown = path.display();
        return Err(CredentialError(format!(
            "the token file {shown} can be read by other users (mode {mode:03o}); \
             make it private with `chmod 600 {shown}` and ask for a new token if others may \
             have read it"
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), CredentialError> {
    Ok(())
}

/// Runs a credential command with `sh -c`: the first line it prints is the token. Its
/// standard input and error stay the terminal's, so it may ask for a passphrase. The command
/// itself is never repeated in a message: it may hold a secret.
pub fn from_command(command: &str) -> Result<String, CredentialError> {
    run_command(
        command,
        "the token command (--token-command or MODQ_TOKEN_COMMAND)",
    )
}

/// [`from_command`], its messages naming the command as `what`.
fn run_command(command: &str, what: &str) -> Result<String, CredentialError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| CredentialError(format!("cannot run {what}: {e}")))?;
    if !output.status.success() {
        return Err(CredentialError(format!(
            "{what} failed ({}); run it by hand to see why",
            output.status
        )));
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| CredentialError(format!("{what} printed something that is not text")))?;
    let token = stdout.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err(CredentialError(format!(
            "{what} printed no token on its first line"
        )));
    }
    Ok(token)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn token_file(mode: u32, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.token");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn a_private_token_file_is_read_and_trimmed() {
        let (_dir, path) = token_file(0o600, "modq_abc\n");
        assert_eq!(from_file(&path).unwrap(), "modq_abc");
        let (_dir, path) = token_file(0o400, "modq_abc");
        assert_eq!(from_file(&path).unwrap(), "modq_abc");
    }

    #[test]
    fn a_token_file_others_can_read_is_refused_with_the_fix() {
        for mode in [0o644, 0o640, 0o604, 0o666] {
            let (_dir, path) = token_file(mode, "modq_secret_value");
            let err = from_file(&path).unwrap_err().to_string();
            assert!(
                err.contains(&format!("chmod 600 {}", path.display())),
                "{mode:o}: {err}"
            );
            assert!(err.contains(&format!("{mode:03o}")), "{err}");
            assert!(!err.contains("modq_secret_value"), "{err}");
        }
    }

    #[test]
    fn a_credential_command_gives_its_first_line() {
        assert_eq!(
            from_command("printf 'modq_from_helper\\nsecond line\\n'").unwrap(),
            "modq_from_helper"
        );
    }

    #[test]
    fn a_failing_or_silent_credential_command_says_so_without_repeating_itself() {
        let err = from_command("echo modq_leaked_in_command >&2; exit 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("failed") && err.contains('3'), "{err}");
        assert!(!err.contains("modq_leaked_in_command"), "{err}");
        let err = from_command("true").unwrap_err().to_string();
        assert!(err.contains("printed no token"), "{err}");
    }

    #[test]
    fn the_file_wins_over_the_command() {
        let (_dir, path) = token_file(0o600, "from-file");
        let source = TokenSource {
            file: Some(path),
            command: Some("echo from-command".into()),
            ..TokenSource::default()
        };
        assert_eq!(source.read().unwrap(), "from-file");
        let source = TokenSource {
            file: None,
            command: Some("echo from-command".into()),
            ..TokenSource::default()
        };
        assert_eq!(source.read().unwrap(), "from-command");
    }
}
