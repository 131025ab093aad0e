//! Carrying out what `App::update` asks for: background sync work, a piped command, the
//! clipboard. Nothing here blocks the event loop; answers come back as Actions.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::action::Message;
use super::app::Effect;
use crate::sync::SyncHandle;

/// A piped command that runs longer than this is stopped.
pub const PIPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a piped command's output read at most (stdout and stderr each).
const PIPE_MAX_BYTES: u64 = 256 * 1024;

pub fn perform(
    effect: Effect,
    sync: &SyncHandle,
    answers: &mpsc::UnboundedSender<Message>,
    terminal: &mut impl Write,
) {
    match effect {
        Effect::Flush => sync.flush(),
        Effect::FetchCounts => sync.counts(),
        Effect::Fetch(what) => sync.fetch(what),
        Effect::JournalBulk {
            session,
            bulk,
            decisions,
        } => sync.journal_bulk(session, bulk, decisions),
        Effect::Select(request) => sync.select(request),
        Effect::Refilter { q, sort, state } => sync.refilter(q, sort, state),
        Effect::Claim(ids) => sync.claim(ids),
        Effect::Release(ids) => sync.release(ids),
        Effect::AddNote { item_id, note } => sync.add_note(item_id, note),
        Effect::FetchItem(id) => sync.fetch_item(id),
        Effect::FetchDayStats => sync.day_stats(),
        Effect::Pipe { command, input } => {
            let answers = answers.clone();
            tokio::spawn(async move {
                let output = run_piped(&command, &input).await;
                let _ = answers.send(Message::PipeDone { command, output });
            });
        }
        Effect::Translate {
            item_id,
            command,
            text,
        } => {
            let answers = answers.clone();
            tokio::spawn(async move {
                let result = super::translate::translate(&command, &text).await;
                let _ = answers.send(Message::Translated { item_id, result });
            });
        }
        Effect::FetchMedia(job) => {
            let backend = sync.backend();
            let answers = answers.clone();
            tokio::spawn(async move {
                let answer = super::media_fetch::fetch(backend, &job).await;
                let _ = answers.send(Message::MediaReady {
                    media_id: job.media_id,
                    answer,
                });
            });
        }
        Effect::Clipboard(text) => {
            if let Err(e) = terminal
                .write_all(osc52(&text).as_bytes())
                .and_then(|()| terminal.flush())
            {
                tracing::warn!(error = %e, "could not write to the clipboard");
            }
        }
    }
}

/// modq's own, deliberate clipboard sequence: OSC 52 with the text in base64, so whatever the
/// text holds, only base64 characters reach the terminal.
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\u{1b}]52;c;{encoded}\u{7}")
}

/// Run `command` through `sh -c` with `input` on its stdin; what it printed, or why it failed.
pub async fn run_piped(command: &str, input: &str) -> String {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return format!("cannot start sh: {e}"),
    };
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return "cannot talk to the command".into();
    };
    let input = input.as_bytes().to_vec();
    // A command that does not read its input must not stall the rest.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let read = |pipe: Box<dyn tokio::io::AsyncRead + Unpin + Send>| async move {
        let mut buf = Vec::new();
        let _ = pipe.take(PIPE_MAX_BYTES).read_to_end(&mut buf).await;
        buf
    };
    let run = async {
        let (out, err) = tokio::join!(read(Box::new(stdout)), read(Box::new(stderr)));
        let status = child.wait().await;
        (out, err, status)
    };
    let result = tokio::time::timeout(PIPE_TIMEOUT, run).await;
    feed.abort();
    let Ok((out, err, status)) = result else {
        return format!(
            "stopped after {} s without finishing",
            PIPE_TIMEOUT.as_secs()
        );
    };
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if !err.is_empty() {
        text.push_str("\n── stderr ──\n");
        text.push_str(&String::from_utf8_lossy(&err));
    }
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => text.push_str(&format!("\n── exited with {s} ──")),
        Err(e) => text.push_str(&format!("\n── {e} ──")),
    }
    if text.trim().is_empty() {
        text = "(no output)".into();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clipboard_sequence_carries_only_base64() {
        let seq = osc52("post\u{1b}]0;pwned\u{7}");
        assert!(seq.starts_with("\u{1b}]52;c;"));
        assert!(seq.ends_with('\u{7}'));
        let body = &seq["\u{1b}]52;c;".len()..seq.len() - 1];
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        );
    }

    #[tokio::test]
    async fn a_piped_command_gets_the_item_and_its_output_comes_back() {
        let out = run_piped("tr a-z A-Z", "{\"text\": \"hello\"}").await;
        assert_eq!(out, "{\"TEXT\": \"HELLO\"}");
        let out = run_piped("echo oops >&2; exit 3", "").await;
        assert!(out.contains("oops") && out.contains("exit"), "{out}");
    }
}
