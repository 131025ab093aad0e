//! Secrets and files on a shared machine: the token never lands in the cache, the log or on
//! screen; item content never lands on disk; folders are 0700 and files 0600; a token file
//! others can read is refused; a credential command can supply the token; `modq purge`
//! deletes a profile's local state, but not decisions that have not reached the server.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{Session, TestServer};

const MODQ: &str = env!("CARGO_BIN_EXE_modq");

/// Every file and folder under `root`.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts nothing under `root` holds `token`, no SQLite file holds any of `texts`, and
/// everything is private.
fn assert_private_and_clean(root: &Path, token: &str, texts: &[String]) {
    let files = walk(root);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".sqlite")),
        "a profile cache exists: {files:?}"
    );
    for path in files {
        if path.is_dir() {
            assert_eq!(mode(&path), 0o700, "{} is a private folder", path.display());
            continue;
        }
        assert_eq!(mode(&path), 0o600, "{} is a private file", path.display());
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !contains(&bytes, token.as_bytes()),
            "the token is in {}",
            path.display()
        );
        let name = path.to_string_lossy();
        if name.ends_with(".sqlite") || name.ends_with("-wal") || name.ends_with("-shm") {
            for text in texts {
                assert!(
                    !contains(&bytes, text.as_bytes()),
                    "item text {text:?} is on disk in {}",
                    path.display()
                );
            }
        }
    }
}

async fn modq(args: &[&str], data: &Path, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = tokio::process::Command::new(MODQ);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("MODQ_API")
        .env_remove("MODQ_TOKEN")
        .env_remove("MODQ_TOKEN_COMMAND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("modq hung")
        .expect("run modq");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The texts of the items a session holds, as the server sent them (long enough to be sure).
async fn item_texts(server: &TestServer, session: &Session) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in session.app.entries.iter().take(30) {
        if let Some(text) = server.item(&entry.id).await.text
            && text.len() >= 24
        {
            texts.push(text);
        }
    }
    assert!(
        texts.len() >= 10,
        "enough texts to look for: {}",
        texts.len()
    );
    texts
}

#[tokio::test]
async fn a_session_leaves_neither_the_token_nor_item_text_on_disk() {
    let server = TestServer::with_sample().await;
    let home = tempfile::tempdir().expect("tempdir");
    // A folder that does not exist yet: modq creates every level of it, privately.
    let data = home.path().join("share/modq");
    let mut s = Session::open(&server, &data).await;
    let texts = item_texts(&server, &s).await;
    s.press("tajeta");
    s.wait_delivered().await;
    let screen = s.screen(200, 60);
    assert!(!screen.contains(&server.token), "the token is on screen");
    // While the session runs, its WAL holds the latest writes.
    assert_private_and_clean(&data, &server.token, &texts);
    s.quit().await;

    // The command line, logging everything it can, with the token from a credential command.
    let command = format!("printf '%s\\n' {}", server.token);
    let (code, stdout, stderr) = modq(
        &["sync", "--api", &server.api],
        &data,
        &[("MODQ_TOKEN_COMMAND", &command), ("MODQ_LOG", "trace")],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("delivered 0, unsent 0"), "{stdout}");
    for output in [&stdout, &stderr] {
        assert!(!output.contains(&server.token), "the token was printed");
    }
    assert!(data.join("log/modq.log").exists(), "the log was written");
    assert_private_and_clean(&data, &server.token, &texts);
}

#[tokio::test]
async fn a_token_file_others_can_read_is_refused_with_the_fix() {
    let server = TestServer::with_sample().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("alice.token");
    std::fs::write(&file, format!("{}\n", server.token)).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let file_arg = file.to_str().expect("UTF-8");
    let data = dir.path().join("data");
    let (code, _, stderr) = modq(
        &["sync", "--api", &server.api, "--token-file", file_arg],
        &data,
        &[],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("chmod 600 {file_arg}")),
        "{stderr}"
    );
    assert!(!stderr.contains(&server.token), "{stderr}");

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (code, stdout, stderr) = modq(
        &["sync", "--api", &server.api, "--token-file", file_arg],
        &data,
        &[],
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}

#[tokio::test]
async fn a_failing_credential_command_says_so_and_never_shows_the_token() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let command = format!("echo {} >/dev/null; exit 7", server.token);
    let (code, _, stderr) = modq(
        &["sync", "--api", &server.api, "--token-command", &command],
        data.path(),
        &[],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("token command"), "{stderr}");
    assert!(stderr.contains("exit status: 7"), "{stderr}");
    assert!(!stderr.contains(&server.token), "{stderr}");
}

#[tokio::test]
async fn purge_keeps_unsent_decisions_unless_forced_then_deletes_the_profile() {
    let mut server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    server.stop().await;
    s.press("tt");
    let db = s.prepared_db.clone();
    s.quit().await;
    assert!(db.exists());

    let purge = |extra: &'static [&'static str]| {
        let api = server.api.clone();
        let data = data.path().to_path_buf();
        async move {
            let mut args = vec!["purge", "--api", &api, "--user", "mod-alice"];
            args.extend_from_slice(extra);
            modq(&args, &data, &[]).await
        }
    };
    let (code, _, stderr) = purge(&[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("2 decisions"), "says how many: {stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(db.exists(), "nothing was deleted");

    let (code, stdout, stderr) = purge(&["--force"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("removed"), "{stdout}");
    for file in modq::profile::profile_files(&db) {
        assert!(!file.exists(), "{} is gone", file.display());
    }
}

#[tokio::test]
async fn purge_asks_the_server_whose_profile_or_takes_them_all() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let alice = Session::open(&server, data.path()).await;
    let alice_db = alice.prepared_db.clone();
    alice.quit().await;
    let bob_token = server.add_moderator("mod-bob");
    let bob = Session::open_as(&server, &bob_token, data.path()).await;
    let bob_db = bob.prepared_db.clone();
    bob.quit().await;

    // No --user: the token says whose profile it is.
    let (code, _, stderr) = modq(
        &["purge", "--api", &server.api],
        data.path(),
        &[("MODQ_TOKEN", &server.token)],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!alice_db.exists() && bob_db.exists());

    let (code, _, stderr) = modq(&["purge", "--all"], data.path(), &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!bob_db.exists());
}
