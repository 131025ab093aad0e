//! No import circle inside `src/tui/` or `src/server/`: each module may use the ones below
//! it, never one that uses it back. Read from the sources, so a new circle fails here,
//! naming it. The server is also held to its layers: HTTP over the rules over the storage
//! trait, with the engines (SQLite, PostgreSQL) beside HTTP, imported by nobody but the
//! server's root, which picks one.
//!
//! A folder is one module (`app/*.rs` is `app`, `view/*.rs` is `view`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The first identifier of `text`.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The names a path continuing at `rest` reaches first: `view::draw` gives `view`,
/// `{effects, mouse::Pointer}` gives `effects` and `mouse`.
fn first_names(rest: &str) -> Vec<String> {
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest).to_string()];
    };
    let mut names = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if c.is_whitespace() => {}
            _ if start && depth == 0 => {
                names.push(ident(&group[i..]).to_string());
                start = false;
            }
            _ => {}
        }
    }
    names
}

/// Which tui modules a file's text names, seen from a file of module `from` (`in_folder`
/// when the file is inside the module's folder, where `super::` is the module itself).
fn uses(text: &str, in_folder: bool, modules: &BTreeSet<String>) -> BTreeSet<String> {
    uses_in("crate::tui::", text, in_folder, modules)
}

/// [`uses`] for the modules under `root` (`crate::tui::`, `crate::server::`).
fn uses_in(
    root: &str,
    text: &str,
    in_folder: bool,
    modules: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let prefixes = if in_folder {
        [root, "super::super::"]
    } else {
        [root, "super::"]
    };
    for prefix in prefixes {
        for (at, _) in text.match_indices(prefix) {
            // `super::super::x` is not `super::x` read from the second `super`.
            if prefix == "super::" && text[..at].ends_with("super::") {
                continue;
            }
            let rest = &text[at + prefix.len()..];
            if rest.starts_with("super::") {
                continue;
            }
            for name in first_names(rest) {
                if modules.contains(&name) {
                    out.insert(name);
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let tui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&tui).expect("src/tui") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            let folder = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            for inner in std::fs::read_dir(&path).expect("folder") {
                let inner = inner.expect("entry").path();
                if inner.extension().is_some_and(|e| e == "rs") {
                    files.push((folder.clone(), true, inner));
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let stem = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .to_string();
            if stem != "mod" {
                files.push((stem, false, path));
            }
        }
    }
    let modules: BTreeSet<String> = files.iter().map(|(m, _, _)| m.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, in_folder, path) in files {
        let text = std::fs::read_to_string(&path).expect("source");
        let mut used = uses(&text, in_folder, &modules);
        used.remove(&module);
        graph.entry(module).or_default().extend(used);
    }
    graph
}

/// A circle through `from`, if there is one: the modules on it, in order.
fn circle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    at: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|m| m == at) {
        let mut found = path[i..].to_vec();
        found.push(at.to_string());
        return Some(found);
    }
    if done.contains(at) {
        return None;
    }
    path.push(at.to_string());
    for next in graph.get(at).into_iter().flatten() {
        if let Some(found) = circle(graph, next, path, done) {
            return Some(found);
        }
    }
    path.pop();
    done.insert(at.to_string());
    None
}

#[test]
fn no_module_of_the_tui_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.contains_key("app") && graph.contains_key("event_loop"));
    assert!(graph["event_loop"].contains("app"), "{graph:?}");
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(found) = circle(&graph, module, &mut Vec::new(), &mut done) {
            panic!("an import circle in src/tui: {}", found.join(" → "));
        }
    }
}

#[test]
fn the_reader_finds_grouped_and_nested_paths() {
    let modules: BTreeSet<String> = ["app", "view", "mouse", "effects"].map(String::from).into();
    let text = "use super::{effects, mouse::Pointer};\nfn f() { super::view::draw(); }";
    assert_eq!(
        uses(text, false, &modules),
        ["effects", "mouse", "view"].map(String::from).into()
    );
    // Inside a folder, `super::` is the module itself; `super::super::` the tui.
    let text = "use super::{App, Layer};\nuse super::super::mouse::Pointer;";
    assert_eq!(
        uses(text, true, &modules),
        ["mouse"].map(String::from).into()
    );
}

// --- the server ----------------------------------------------------------------------------

/// A source file's code: its tests (a `#[cfg(test)]` module, last in the file, which may
/// reach anything it checks) and its comments (a doc link is not an import) left out.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The imports between the modules of the folder `dir` (crate path `root`, e.g.
/// `crate::server::`): a file is a module, a folder one module, its `mod.rs` the root of
/// that module. The folder's own `mod.rs` is its root, which wires the modules together
/// and is left out.
fn graph_of(dir: &Path, root: &str) -> BTreeMap<String, BTreeSet<String>> {
    // (module, whether `super::` in the file is the module itself, path)
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).expect("folder") {
                let inner = inner.expect("entry").path();
                if inner.extension().is_some_and(|e| e == "rs") {
                    let is_root = inner.file_name().is_some_and(|n| n == "mod.rs");
                    files.push((name.clone(), !is_root, inner));
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") && name != "mod" {
            files.push((name, false, path));
        }
    }
    let modules: BTreeSet<String> = files.iter().map(|(m, _, _)| m.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, in_folder, path) in files {
        let text = code_of(&std::fs::read_to_string(&path).expect("source"));
        let mut used = uses_in(root, &text, in_folder, &modules);
        used.remove(&module);
        graph.entry(module).or_default().extend(used);
    }
    graph
}

fn server_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server")
}

fn assert_no_circle(graph: &BTreeMap<String, BTreeSet<String>>, place: &str) {
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(found) = circle(graph, module, &mut Vec::new(), &mut done) {
            panic!("an import circle in {place}: {}", found.join(" → "));
        }
    }
}

#[test]
fn no_module_of_the_server_imports_one_that_imports_it_back() {
    let graph = graph_of(&server_dir(), "crate::server::");
    assert!(graph["http"].contains("rules"), "{graph:?}");
    assert!(graph["sqlite"].contains("storage"), "{graph:?}");
    assert_no_circle(&graph, "src/server");
    // Inside each folder too: `http/handlers.rs`, `sqlite/queue.rs` and their neighbours.
    for entry in std::fs::read_dir(server_dir()).expect("src/server") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            let graph = graph_of(&path, &format!("crate::server::{name}::"));
            assert_no_circle(&graph, &format!("src/server/{name}"));
        }
    }
}

/// Where a server module stands. Higher layers may import lower ones, never the reverse:
/// HTTP (`http/` and `import`) over the engines (every other folder, `filter_sql`,
/// `read_pool`) over the pure rules over the storage trait and its types. Engines apply the
/// rules inside their transactions, so they stand above them; nothing but the server's root
/// imports an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Storage,
    Rules,
    Engine,
    Http,
}

fn layer_of(module: &str, is_folder: bool) -> Option<Layer> {
    if module == "http" {
        return Some(Layer::Http);
    }
    if is_folder {
        return Some(Layer::Engine);
    }
    Some(match module {
        "storage" | "basis" => Layer::Storage,
        "rules" | "claims" | "statements" | "stats" | "clock" | "appeals" | "account_rules"
        | "media_rules" | "report_figures" => Layer::Rules,
        "filter_sql" | "read_pool" | "decision_steps" | "stored" => Layer::Engine,
        "import" => Layer::Http,
        _ => return None,
    })
}

#[test]
fn the_server_is_layered_http_over_rules_over_storage_and_no_one_imports_an_engine() {
    let graph = graph_of(&server_dir(), "crate::server::");
    let engines: BTreeSet<String> = std::fs::read_dir(server_dir())
        .expect("src/server")
        .filter_map(|e| {
            let path = e.expect("entry").path();
            path.is_dir().then(|| {
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .to_string()
            })
        })
        .filter(|name| name != "http")
        .collect();
    let layer = |m: &str| {
        layer_of(m, engines.contains(m)).unwrap_or_else(|| {
            panic!("src/server/{m}: give it a layer in tests/module_graph.rs (layer_of)")
        })
    };
    assert_eq!(layer("sqlite"), Layer::Engine);
    assert_eq!(layer("http"), Layer::Http);
    for (from, used) in &graph {
        for to in used {
            assert!(
                layer(to) <= layer(from),
                "{from} ({:?}) imports {to} ({:?}), a higher layer",
                layer(from),
                layer(to)
            );
            assert!(
                !engines.contains(to.as_str()) || engines.contains(from.as_str()),
                "{from} imports the engine {to}: handlers take `dyn Storage`"
            );
        }
    }
}

#[test]
fn the_server_reader_skips_tests_and_comments_and_reads_a_folders_root_from_outside() {
    let text = "use super::rules::x; // super::handlers::y\n/// [`super::openapi`]\n\
                #[cfg(test)]\nmod tests { use super::super::handlers; }";
    let code = code_of(text);
    let modules: BTreeSet<String> = ["rules", "handlers", "openapi"].map(String::from).into();
    assert_eq!(
        uses_in("crate::server::", &code, false, &modules),
        ["rules"].map(String::from).into()
    );
}

/// Every `.rs` file under `dir` (or `dir` itself when it is a file).
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for entry in std::fs::read_dir(dir).expect("folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The client speaks to a server only through a `Backend`: the session, the sync, the TUI and
/// the backends import nothing from the reference server (`src/demo.rs` runs it and may).
/// Test modules at the end of a file may, to hold the two together.
#[test]
fn the_client_imports_nothing_from_the_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for part in ["session.rs", "sync", "tui", "backend"] {
        sources(&root.join(part), &mut files);
    }
    assert!(files.len() > 20, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for needle in ["crate::server", "modq::server"] {
            assert!(
                !code.contains(needle),
                "{} names {needle} outside its tests",
                file.display()
            );
        }
    }
}
