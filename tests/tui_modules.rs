//! The modules of `src/tui/` depend one way: no module reaches, through others, back to
//! itself. Read from the source, as a newcomer would: each `crate::tui::NAME` and `super::NAME`
//! a module names outside its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.

/// The top-level module a file of `src/tui/` belongs to (`view` for `view/queue.rs`).
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Which top-level modules each one names, and which of `view`'s own files each of those
/// names.
fn graph(root: &Path, within: Option<&str>) -> BTreeMap<String, BTreeSet<String>> {
    let base = match within {
        Some(m) => root.join(m),
        None => root.to_path_buf(),
    };
    let mut files = Vec::new();
    sources(&base, &mut files);
    let names: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&base).unwrap()))
        .filter(|m| m != "mod")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file.strip_prefix(&base).unwrap());
        if from == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let prefixes: Vec<String> = match within {
            Some(m) => vec![format!("crate::tui::{m}::"), "super::".to_string()],
            None => vec!["crate::tui::".to_string(), "super::".to_string()],
        };
        for prefix in &prefixes {
            for (at, _) in code.match_indices(prefix.as_str()) {
                let rest = &code[at + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if names.contains(&name) && name != from {
                    edges.entry(from.clone()).or_default().insert(name);
                }
            }
        }
    }
    edges
}

/// A path from `start` back to itself, if there is one.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in edges.get(last).into_iter().flatten() {
            if next == start {
                let mut found = path.clone();
                found.push(next.clone());
                return Some(found);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_import_circle_inside_tui() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    for within in [None, Some("view")] {
        let edges = graph(&root, within);
        assert!(!edges.is_empty(), "nothing read under {within:?}");
        for module in edges.keys() {
            if let Some(path) = circle(&edges, module) {
                panic!("an import circle: {}", path.join(" -> "));
            }
        }
    }
}
