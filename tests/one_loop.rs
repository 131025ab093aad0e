//! The tests drive modq's own event loop, never a copy of it: a test that hands keys and
//! reports to the App itself and carries out (or drops) its effects proves nothing about the
//! loop the binary runs (issue 16). Read from the sources, so a new hand-made loop fails here,
//! naming the file and the call.

use std::path::{Path, PathBuf};

/// Files allowed to call the App and the effects directly, and why.
const ALLOWED: &[(&str, &str)] = &[
    (
        "tests/common/mod.rs",
        "the session the tests share: it drives modq's loop",
    ),
    (
        "benches/decide.rs",
        "measures the App and its drawing alone, without a server or a sync, on purpose",
    ),
];

/// What a hand-made loop calls; built from pieces so that this file does not name them.
fn hand_made_loop_calls() -> Vec<String> {
    [
        ("app.", "update"),
        (".", "handle_key"),
        (".", "handle_input"),
        ("effects::", "perform"),
    ]
    .iter()
    .map(|(path, name)| format!("{path}{name}("))
    .collect()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The calls of a hand-made loop in `source`, whitespace ignored (a call split over lines
/// counts), comments included (a commented-out loop is one waiting to come back).
fn calls_in(source: &str) -> Vec<String> {
    let flat: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    hand_made_loop_calls()
        .into_iter()
        .filter(|call| flat.contains(call.as_str()))
        .collect()
}

#[test]
fn no_test_nor_bench_drives_the_app_outside_the_event_loop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut read = 0;
    for dir in ["tests", "benches"] {
        for path in rust_files(&root.join(dir)) {
            let name = path
                .strip_prefix(root)
                .expect("under the crate")
                .to_string_lossy()
                .replace('\\', "/");
            let source = std::fs::read_to_string(&path).expect("read source");
            read += 1;
            if ALLOWED.iter().any(|(allowed, _)| *allowed == name) {
                continue;
            }
            for call in calls_in(&source) {
                found.push(format!("{name}: {call}"));
            }
        }
    }
    assert!(read > 30, "the sources were read: {read} files");
    assert!(
        found.is_empty(),
        "drive the App through modq::tui::event_loop (tests/common's Session), not by hand:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_reader_finds_a_hand_made_loop_however_it_is_written() {
    let split = format!("drop(s.app\n    .{}(key));", "handle_key");
    assert_eq!(calls_in(&split).len(), 1, "{split}");
    let perform = format!("modq::tui::effects::{}(e, &sync, &a, &mut out);", "perform");
    assert_eq!(calls_in(&perform).len(), 1);
    let update = format!("let effects = self.app.{}(Message::Tick(now));", "update");
    assert_eq!(calls_in(&update).len(), 1);
    assert!(calls_in("s.press(\"t\"); s.select(3); s.message(Action::Undo);").is_empty());
    // Every allowed file is there, so the list does not outlive what it allows.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (allowed, why) in ALLOWED {
        assert!(root.join(allowed).is_file(), "{allowed} ({why})");
    }
}
