//! The real `modq` binary in a real terminal: tmux runs a shell, the shell runs modq, and the
//! test reads the screen the way a moderator would see it. These are the few things only a
//! real terminal shows: the queue is drawn, a key decides, quitting hands the terminal back
//! intact (main screen, canonical mode, echo), and the decision reached the server.
//!
//! Every test starts its own tmux server on a private socket (`tmux -L <unique name>`, no
//! config file), so a user's own tmux sessions are never touched, and a guard kills that
//! server and removes its socket however the test ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use modq::model::{HistoryEvent, Item, QueuePage, ReviewState};
use tempfile::TempDir;

const MODQ: &str = env!("CARGO_BIN_EXE_modq");
const SAMPLE_QUEUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample-queue.jsonl");

/// The longest any one screen may take to appear before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

// --- the harness --------------------------------------------------------------------------

/// A private tmux server with one 100×30 session running `bash --norc`; killed on drop.
struct Terminal {
    socket: String,
    /// Where tmux put the socket, removed with the server.
    socket_path: Option<PathBuf>,
}

impl Terminal {
    fn open() -> Terminal {
        require_tmux();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let socket = format!(
            "modq-e2e-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut terminal = Terminal {
            socket,
            socket_path: None,
        };
        // A shell with no rc files, no history file and no modq settings from the caller's
        // environment, so the demo really is the demo and nothing is written to $HOME.
        let shell = "env -u MODQ_API -u MODQ_TOKEN -u MODQ_DATA_DIR -u MODQ_LOG \
                     HISTFILE=/dev/null PS1='e2e$ ' bash --norc --noprofile";
        terminal.tmux(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "100",
            "-y",
            "30",
            shell,
        ]);
        let socket_path = terminal.tmux(&["display-message", "-p", "#{socket_path}"]);
        terminal.socket_path = Some(PathBuf::from(socket_path.trim()));
        terminal.wait_for("the shell prompt", |screen| screen.contains("e2e$"));
        terminal
    }

    /// Runs one tmux command against this private server and returns its stdout.
    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"));
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `line` at the shell prompt and presses Enter.
    fn run(&self, line: &str) {
        self.tmux(&["send-keys", "-t", "e2e", "-l", line]);
        self.tmux(&["send-keys", "-t", "e2e", "Enter"]);
    }

    /// Presses one key, as the moderator would.
    fn press(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "e2e", "-l", key]);
    }

    /// What the pane shows now, wrapped lines joined.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", "e2e"])
    }

    /// Whether the pane is on the alternate screen (a full-screen program owns it).
    fn alternate_screen(&self) -> bool {
        self.tmux(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
            .trim()
            == "1"
    }

    /// Polls the screen until `ready` holds, and returns that screen; fails after `PATIENCE`
    /// showing what was on the screen instead.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > PATIENCE {
                panic!("waited {PATIENCE:?} for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Runs `stty -a` in the shell and returns its words once they are on the screen.
    fn terminal_modes(&self) -> Vec<String> {
        self.run("clear; stty -a");
        let screen = self.wait_for("the output of stty -a", |s| {
            words(s).any(|w| w == "icanon" || w == "-icanon")
        });
        words(&screen).map(str::to_string).collect()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The status the shell printed after modq exited (`modq exited with N`), once it has; the
/// command line typed at the prompt also holds these words, but not at the start of a line.
fn exit_status(screen: &str) -> Option<i32> {
    screen
        .lines()
        .find_map(|line| line.strip_prefix("modq exited with ")?.trim().parse().ok())
}

fn words(screen: &str) -> impl Iterator<Item = &str> {
    screen.split_whitespace()
}

fn require_tmux() {
    match Command::new("tmux")
        .arg("-V")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`tmux -V` failed ({status}); these tests need a working tmux"),
        Err(e) => panic!(
            "tmux is not installed ({e}): install tmux (e.g. `apt-get install tmux`) to run \
             the terminal tests; .ci/run installs it"
        ),
    }
}

/// Quotes `path` for the shell in the pane.
fn quoted(path: &Path) -> String {
    let text = path.to_str().expect("test paths are UTF-8");
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Asserts that the terminal is back to what the shell had before modq took it over.
fn assert_terminal_restored(terminal: &Terminal) {
    assert!(
        !terminal.alternate_screen(),
        "modq left the terminal on the alternate screen"
    );
    let modes = terminal.terminal_modes();
    for (on, off) in [("icanon", "-icanon"), ("echo", "-echo")] {
        assert!(
            modes.iter().any(|m| m == on) && !modes.iter().any(|m| m == off),
            "modq left the terminal without `{on}` (raw mode not undone); stty -a shows: {}",
            modes.join(" ")
        );
    }
}

/// A `modq serve` process; killed on drop.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn modq_serve(args: &[&str]) -> std::process::Output {
    let output = Command::new(MODQ)
        .arg("serve")
        .args(args)
        .env_remove("MODQ_API")
        .env_remove("MODQ_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run modq serve");
    assert!(
        output.status.success(),
        "modq serve {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Starts `modq serve` on an ephemeral port and waits until it says where it listens.
fn start_server(db: &Path) -> Served {
    let mut child = Command::new(MODQ)
        .args(["serve", "--db"])
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .env("MODQ_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start modq serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    // Read the announcement, then keep draining so the server never blocks on its log.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let mut served = Served {
        child,
        base: String::new(),
    };
    served.base = rx
        .recv_timeout(PATIENCE)
        .expect("modq serve never said where it listens");
    served
}

fn http_get<T: serde::de::DeserializeOwned>(base: &str, token: &str, path: &str) -> T {
    let url = format!("{base}{path}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert!(
            response.status().is_success(),
            "GET {url}: HTTP {}",
            response.status()
        );
        response
            .json::<T>()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    })
}

// --- the sessions -------------------------------------------------------------------------

#[test]
fn a_moderator_takes_down_one_demo_item_and_gets_the_terminal_back() {
    let data = TempDir::new().expect("temp dir");
    let terminal = Terminal::open();

    terminal.run(&format!(
        "{MODQ} --data-dir {}; echo \"modq exited with $?\"",
        quoted(data.path())
    ));
    terminal.wait_for("the demo queue", |s| {
        s.contains("Queue ") && s.contains("decided 0 │ unsent 0")
    });
    assert!(
        terminal.alternate_screen(),
        "the TUI should draw on the alternate screen"
    );

    terminal.press("t");
    terminal.wait_for("the take-down to count", |s| s.contains("decided 1 │"));

    terminal.press("q");
    let screen = terminal.wait_for("modq to exit", |s| exit_status(s).is_some());
    assert!(
        screen.contains("modq: 1 decisions this session;"),
        "the summary line is missing:\n{screen}"
    );
    assert_eq!(
        exit_status(&screen),
        Some(0),
        "modq should exit 0 after a plain quit:\n{screen}"
    );

    assert_terminal_restored(&terminal);

    // The demo server runs inside modq and logs to the same file: it saw the decision.
    let log = std::fs::read_to_string(data.path().join("log").join("modq.log"))
        .expect("modq writes its log into --data-dir");
    assert!(
        log.contains("path=/v1/decisions status=200"),
        "the demo server never accepted a decision; log:\n{log}"
    );
}

/// The operator's side: import the sample queue, issue alice a token (in a 0600 file), start
/// `modq serve`.
fn operator_serves_the_sample(dir: &Path) -> (Served, String, PathBuf) {
    let db = dir.join("modq.sqlite");
    let db_arg = db.to_str().expect("UTF-8 path");

    // The operator's side: import the sample queue, issue alice a token, start the server.
    let imported = modq_serve(&["--db", db_arg, "import", SAMPLE_QUEUE]);
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains("imported"),
        "import should say what it loaded"
    );
    let added = modq_serve(&[
        "--db",
        db_arg,
        "token",
        "add",
        "--role",
        "moderator",
        "--name",
        "alice",
    ]);
    let stdout = String::from_utf8_lossy(&added.stdout);
    let token = stdout
        .lines()
        .last()
        .expect("token add prints the token last")
        .trim()
        .to_string();
    let token_file = dir.join("alice.token");
    std::fs::write(&token_file, format!("{token}\n")).expect("write token file");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600 the token file");
    }
    let server = start_server(&db);
    (server, token, token_file)
}

#[test]
fn an_operator_serves_a_queue_and_a_moderators_take_down_reaches_the_server() {
    let dir = TempDir::new().expect("temp dir");
    let (server, token, token_file) = operator_serves_the_sample(dir.path());

    let top: QueuePage = http_get(&server.base, &token, "/v1/queue?limit=1");
    let first = top.items.first().expect("the imported queue is not empty");
    let first_id = first.id.clone();
    assert_eq!(first.state, ReviewState::Open);

    // The moderator's side: the TUI against that server.
    let data = dir.path().join("alice-data");
    let terminal = Terminal::open();
    terminal.run(&format!(
        "{MODQ} --api {} --token-file {} --data-dir {}; echo \"modq exited with $?\"",
        server.base,
        quoted(&token_file),
        quoted(&data)
    ));
    terminal.wait_for("alice's queue", |s| {
        s.contains("alice@") && s.contains("decided 0 │ unsent 0")
    });
    terminal.press("t");
    terminal.wait_for("the take-down to be delivered", |s| {
        s.contains("decided 1 │ unsent 0")
    });
    terminal.press("q");
    let screen = terminal.wait_for("modq to exit", |s| exit_status(s).is_some());
    assert!(
        screen.contains("modq: 1 decisions this session; 0 unsent"),
        "the summary line is missing or counts unsent decisions:\n{screen}"
    );
    assert_eq!(exit_status(&screen), Some(0), "exit code:\n{screen}");
    assert_terminal_restored(&terminal);

    // The server's side: exactly that item is taken down, by alice.
    let item: Item = http_get(
        &server.base,
        &token,
        &format!("/v1/items/{}", first_id.replace('/', "%2F")),
    );
    assert_eq!(item.state, ReviewState::TakenDown, "item {first_id}");
    let decision = item
        .history
        .iter()
        .find(|h| h.event == HistoryEvent::TakeDown)
        .expect("the item's history records the take-down");
    assert_eq!(decision.actor, "alice");
    let taken_down: QueuePage = http_get(&server.base, &token, "/v1/queue?state=taken_down");
    let ids: Vec<&str> = taken_down.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [first_id.as_str()], "one key, one take-down");

    // The token came from a file and stays there: not in the session cache, not in the log.
    assert_nothing_under_holds(&data, &token);
}

/// Fails if any file under `dir` contains `secret`.
fn assert_nothing_under_holds(dir: &Path, secret: &str) {
    let mut folders = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).expect("read cache file");
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the API token",
                path.display()
            );
        }
    }
    assert!(files > 0, "modq wrote nothing under {}", dir.display());
}

/// Whether the program in the pane asked the terminal for mouse events.
fn mouse_captured(terminal: &Terminal) -> bool {
    terminal
        .tmux(&["display-message", "-p", "-t", "e2e", "#{mouse_any_flag}"])
        .trim()
        == "1"
}

#[test]
fn a_config_with_a_mistake_still_starts_and_the_mouse_is_given_back_on_quit() {
    let data = TempDir::new().expect("temp dir");
    let config = data.path().join("config").join("config.toml");
    std::fs::create_dir_all(config.parent().expect("folder")).expect("config folder");
    std::fs::write(
        &config,
        "mouse = true\n[keys]\n\"z z\" = \"take_down\"\nt = \"explode\"\n",
    )
    .expect("write config");
    let terminal = Terminal::open();
    terminal.run(&format!(
        "{MODQ} --data-dir {}; echo \"modq exited with $?\"",
        quoted(data.path())
    ));
    let screen = terminal.wait_for("the demo queue with the config's mistake", |s| {
        s.contains("decided 0 │") && s.contains("config.toml line 4, key \"t\"")
    });
    assert!(
        mouse_captured(&terminal),
        "mouse = true captures the mouse:\n{screen}"
    );

    // The good line applies: the sequence decides.
    terminal.press("z");
    terminal.wait_for("the hint for the sequence", |s| s.contains("z …"));
    terminal.press("z");
    terminal.wait_for("the take-down to count", |s| s.contains("decided 1 │"));

    terminal.press("q");
    let screen = terminal.wait_for("modq to exit", |s| exit_status(s).is_some());
    assert_eq!(exit_status(&screen), Some(0), "exit code:\n{screen}");
    assert!(
        !mouse_captured(&terminal),
        "quitting gives the mouse back to the terminal"
    );
    assert_terminal_restored(&terminal);

    let log = std::fs::read_to_string(data.path().join("log").join("modq.log")).expect("log");
    assert!(
        log.contains("config.toml line 4, key \"t\": unknown action \"explode\""),
        "the log names the mistake:\n{log}"
    );
}

#[test]
fn a_moderator_filters_tags_every_match_and_takes_them_down_in_one_bulk_action() {
    let dir = TempDir::new().expect("temp dir");
    let (server, token, token_file) = operator_serves_the_sample(dir.path());
    let spam: QueuePage = http_get(&server.base, &token, "/v1/queue?q=cat:spam&limit=500");
    let expected = spam.items.len();
    assert!(expected > 50, "the sample has a spam flood");

    let terminal = Terminal::open();
    terminal.run(&format!(
        "{MODQ} --api {} --token-file {} --data-dir {}; echo \"modq exited with $?\"",
        server.base,
        quoted(&token_file),
        quoted(&dir.path().join("data"))
    ));
    terminal.wait_for("alice's queue", |s| s.contains("decided 0 │ unsent 0"));
    terminal.press("/");
    terminal.press("cat:spam");
    terminal.tmux(&["send-keys", "-t", "e2e", "Enter"]);
    terminal.wait_for("the filter in the list title", |s| s.contains("· cat:spam"));
    terminal.press("*");
    terminal.wait_for("every match tagged", |s| {
        s.contains(&format!("tagged {expected}"))
    });
    // tmux reads a lone `;` as its own command separator: `\;` is the key.
    terminal.press("\\;");
    terminal.press("t");
    terminal.wait_for("the confirmation", |s| {
        s.contains(&format!("Take down {expected} tagged items?"))
    });
    terminal.press("y");
    terminal.wait_for("the server to acknowledge them all", |s| {
        s.contains(&format!("{expected} acknowledged by the server"))
    });
    terminal.press("q");
    let screen = terminal.wait_for("modq to exit", |s| exit_status(s).is_some());
    assert_eq!(exit_status(&screen), Some(0), "exit code:\n{screen}");
    assert_terminal_restored(&terminal);

    let left: QueuePage = http_get(&server.base, &token, "/v1/queue?q=cat:spam&limit=500");
    assert!(
        left.items.is_empty(),
        "spam left open: {}",
        left.items.len()
    );
    let taken: QueuePage = http_get(&server.base, &token, "/v1/queue?state=taken_down&limit=500");
    assert_eq!(taken.items.len(), expected, "only the spam was taken down");
}

/// A paste is marked as one (bracketed paste): on the queue it is nothing, never keys — a
/// pasted `tat` takes nothing down — and in the filter it is typed text.
#[test]
fn a_paste_never_turns_into_decision_keys() {
    let data = TempDir::new().expect("temp dir");
    let terminal = Terminal::open();
    terminal.run(&format!(
        "{MODQ} --data-dir {}; echo \"modq exited with $?\"",
        quoted(data.path())
    ));
    terminal.wait_for("the demo queue", |s| {
        s.contains("Queue ") && s.contains("decided 0 │ unsent 0")
    });
    let paste = |text: &str| {
        terminal.tmux(&["set-buffer", "-b", "e2e-paste", text]);
        // -p: with the brackets, if the program asked for them.
        terminal.tmux(&["paste-buffer", "-p", "-b", "e2e-paste", "-t", "e2e"]);
    };
    paste("tat");
    // Keys after the paste are read after it: once the filter line is open, the paste was.
    terminal.press("/");
    paste("spam");
    terminal.wait_for("the pasted filter", |s| s.contains("/spam"));
    terminal.tmux(&["send-keys", "-t", "e2e", "Escape"]);
    let screen = terminal.wait_for("the status line", |s| s.contains("decided "));
    assert!(
        screen.contains("decided 0 │"),
        "the paste decided:\n{screen}"
    );
    terminal.press("q");
    let screen = terminal.wait_for("modq to exit", |s| exit_status(s).is_some());
    assert_eq!(exit_status(&screen), Some(0), "{screen}");
    assert_terminal_restored(&terminal);
}
