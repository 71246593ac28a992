//! The layering of `src/`, written down as a table and held against every `crate::` path in the
//! code. Modules are layered by part: a concept's lower parts (model, store, view, plan, write) sit
//! below the HTTP plumbing, its faces (http, web) above it, so the console and the JSON API stand
//! on the same concept functions and nothing below a face can reach one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Business concepts: folders with parts.
const CONCEPTS: &[&str] = &[
    "members",
    "users",
    "communities",
    "adjustments",
    "shop",
    "deeds",
    "passbook",
    "reports",
    "audit",
    "households",
    "expiry",
    "fund",
    "orders",
    "trust",
];

/// The crate's exported macros, named at its root.
const CRATE_MACROS: &[&str] = &["stored_words", "text_column", "with_backend"];

/// Where each module stands; a module may use what stands lower, and the lower parts of its own
/// concept. The test fails on any other `crate::` path, and on a cycle between parts.
fn rank(top: &str, part: Option<&str>) -> Option<u32> {
    Some(match (top, part) {
        ("kernel", _) => 0,
        ("db" | "auth", _) => 1,
        ("ledger", _) => 2,
        // A concept's pure parts: its rules, and files written from what it read (the passbook's
        // CSV and .xlsx).
        (c, Some("model" | "export")) if CONCEPTS.contains(&c) => 3,
        (c, Some("store")) if CONCEPTS.contains(&c) => 4,
        (c, Some("view" | "write" | "plan" | "jobs")) if CONCEPTS.contains(&c) => 5,
        ("commands", _) => 6,
        ("http", _) => 7,
        // The console's foundation (sessions, layout, words) stands beside the concepts' JSON
        // faces; each concept's console pages (`web`) stand on both.
        (c, Some("http")) if CONCEPTS.contains(&c) => 8,
        ("console", _) => 8,
        (c, Some("web")) if CONCEPTS.contains(&c) => 9,
        ("app", _) => 10,
        ("cli", _) => 11,
        ("harness", _) => 12,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    top: String,
    part: Option<String>,
}

impl Module {
    fn rank(&self) -> Option<u32> {
        rank(&self.top, self.part.as_deref())
    }

    fn is_concept(&self) -> bool {
        CONCEPTS.contains(&self.top.as_str())
    }

    fn name(&self) -> String {
        match &self.part {
            Some(part) if self.is_concept() => format!("{}::{part}", self.top),
            _ => self.top.clone(),
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to: `src/shop/plan.rs` → shop::plan, `src/shop/http/goods.rs` →
/// shop::http, `src/ledger/store/sqlite.rs` → ledger.
fn module_of(src: &Path, file: &Path) -> Option<Module> {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [only] if only == "lib" || only == "main" => None,
        [only] => Some(Module {
            top: only.clone(),
            part: None,
        }),
        [top, rest @ ..] => Some(Module {
            top: top.clone(),
            part: rest.first().filter(|p| *p != "mod").cloned(),
        }),
        [] => None,
    }
}

/// Every `crate::a::b` path outside comments, as the module it names.
fn references(text: &str) -> Vec<(usize, Module, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let path: Vec<&str> = after
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(top) = path.first() {
                let part = path.get(1).map(|p| p.to_string());
                found.push((
                    n + 1,
                    Module {
                        top: top.to_string(),
                        part,
                    },
                    path.join("::"),
                ));
            }
            rest = &after[1.min(after.len())..];
        }
    }
    found
}

#[test]
fn every_module_imports_only_what_stands_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        if file.starts_with(src.join("bin")) {
            continue;
        }
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        if from.is_concept() && from.part.is_none() {
            // A concept's own mod.rs only names its parts; a re-export would hide an edge.
            if text.contains("crate::") || text.contains("pub use") {
                broken.push(format!(
                    "{}: a concept's mod.rs only declares its parts",
                    file.display()
                ));
            }
            continue;
        }
        let Some(from_rank) = from.rank() else {
            broken.push(format!(
                "{}: a module the table does not place",
                file.display()
            ));
            continue;
        };
        for (line, to, path) in references(&text) {
            // Macros live at the crate root.
            if CRATE_MACROS.contains(&path.as_str()) {
                continue;
            }
            if to.top == from.top && !from.is_concept() {
                continue;
            }
            let where_ = format!("{}:{line} uses crate::{path}", file.display());
            let Some(to_rank) = to.rank() else {
                broken.push(format!("{where_}: name the part (model, store, plan, …)"));
                continue;
            };
            let same_concept = from.is_concept() && to.top == from.top;
            // Concepts may use one another's parts of the same layer (deeds name members, the
            // `me` answer shows the member as the members face does): the cycle check below
            // keeps that one way.
            let between_stores = to_rank == from_rank && from.is_concept() && to.is_concept();
            let allowed =
                to_rank < from_rank || (same_concept && to_rank <= from_rank) || between_stores;
            if !allowed {
                broken.push(format!(
                    "{where_}: {} (layer {from_rank}) may not use {} (layer {to_rank})",
                    from.name(),
                    to.name()
                ));
            }
            if to.name() != from.name() {
                graph.entry(from.name()).or_default().insert(to.name());
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
    assert_no_cycle(&graph);
}

fn assert_no_cycle(graph: &BTreeMap<String, BTreeSet<String>>) {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|p| p == node) {
            panic!(
                "a cycle between modules: {} -> {node}",
                path[at..].join(" -> ")
            );
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_table_places_every_folder_of_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if ["lib", "main", "bin"].contains(&name.as_str()) {
            continue;
        }
        let placed = rank(&name, None).is_some() || CONCEPTS.contains(&name.as_str());
        assert!(placed, "src/{name} is not in the layering table");
    }
}
