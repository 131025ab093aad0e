//! The translation command (`[translate]` in the config file): a program the moderator names,
//! given the item's text on its stdin, whose stdout is the translation. It runs off the key
//! path, with a time limit and a cap on what it may print, and never through a shell: the
//! item's text goes only to its stdin, never into its arguments.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a translation may take unless the config says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much a translation may print unless the config says otherwise.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// Bytes of the command's stderr quoted when it fails.
const STDERR_BYTES: u64 = 4 * 1024;

/// The program and its arguments, as the config file lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateCommand {
    pub program: String,
    pub args: Vec<String>,
    pub timeout: Duration,
    pub max_bytes: usize,
}

impl TranslateCommand {
    /// The command as the moderator wrote it, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Run `command` with `text` on its stdin: what it printed, or why there is no translation.
/// Never longer than its time limit; never more than its cap of output (the rest is cut and
/// the command stopped).
pub async fn translate(command: &TranslateCommand, text: &str) -> Result<String, String> {
    let child = tokio::process::Command::new(&command.program)
        .args(&command.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = child.map_err(|e| format!("cannot start {}: {e}", command.program))?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("cannot talk to the translation command".into());
    };
    let input = text.as_bytes().to_vec();
    // A command that does not read its input must not stall the rest; closing stdin ends it.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
        drop(stdin);
    });
    let cap = u64::try_from(command.max_bytes).unwrap_or(u64::MAX);
    let run = async {
        let read_out = async {
            let mut buf = Vec::new();
            // One byte past the cap says the output was longer than allowed.
            let _ = stdout
                .take(cap.saturating_add(1))
                .read_to_end(&mut buf)
                .await;
            buf
        };
        let read_err = async {
            let mut buf = Vec::new();
            let _ = stderr.take(STDERR_BYTES).read_to_end(&mut buf).await;
            buf
        };
        let (out, err) = tokio::join!(read_out, read_err);
        let cut = out.len() > command.max_bytes;
        let status = if cut {
            // Enough read: the rest is not wanted, and the command must not run on.
            let _ = child.kill().await;
            None
        } else {
            Some(child.wait().await)
        };
        (out, err, status, cut)
    };
    let result = tokio::time::timeout(command.timeout, run).await;
    feed.abort();
    let Ok((mut out, err, status, cut)) = result else {
        return Err(format!(
            "{} was stopped after {} s without finishing",
            command.program,
            command.timeout.as_secs_f64()
        ));
    };
    match status {
        Some(Ok(s)) if !s.success() => {
            let why = String::from_utf8_lossy(&err);
            let why = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(format!("{} failed ({s}) {why}", command.program)
                .trim()
                .to_string());
        }
        Some(Err(e)) => return Err(format!("{}: {e}", command.program)),
        Some(Ok(_)) | None => {}
    }
    out.truncate(command.max_bytes);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if text.trim().is_empty() {
        return Err(format!("{} printed nothing", command.program));
    }
    if cut {
        text.push_str(&format!(
            "\n⟪… cut at {} KiB⟫",
            command.max_bytes.div_ceil(1024)
        ));
    }
    Ok(text)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn command(program: &str, args: &[&str]) -> TranslateCommand {
        TranslateCommand {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout: Duration::from_secs(20),
            max_bytes: 16,
        }
    }

    #[tokio::test]
    async fn the_text_goes_on_stdin_and_the_output_is_capped() {
        let rot13 = command("tr", &["a-zA-Z", "n-za-mN-ZA-M"]);
        assert_eq!(translate(&rot13, "Hello").await.as_deref(), Ok("Uryyb"));
        let long = translate(&rot13, &"a".repeat(100_000)).await.unwrap();
        assert!(long.starts_with(&"n".repeat(16)), "{long}");
        assert!(long.ends_with("cut at 1 KiB⟫"), "{long}");
        // The text is never an argument: `$(…)` in it reaches the command as bytes.
        let cat = command("cat", &[]);
        assert_eq!(translate(&cat, "$(id)").await.as_deref(), Ok("$(id)"));
    }

    #[tokio::test]
    async fn a_failing_or_missing_command_says_why() {
        let err = translate(&command("false", &[]), "x").await.unwrap_err();
        assert!(err.contains("false failed"), "{err}");
        let err = translate(&command("/nonexistent/modq-translate", &[]), "x")
            .await
            .unwrap_err();
        assert!(err.contains("cannot start"), "{err}");
        let err = translate(&command("true", &[]), "x").await.unwrap_err();
        assert!(err.contains("printed nothing"), "{err}");
    }
}
