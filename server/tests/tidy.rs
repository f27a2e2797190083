//! Rules about the source tree that no compiler checks, as rust-analyzer's `tidy.rs` does: the
//! map in ARCHITECTURE.md covers every module, no two modules import each other, both backends
//! have the same migrations, and the README lists every error code a client can get.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, relative to it, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}

/// A file's module path: `db/sqlite.rs` is `db::sqlite`, `db/mod.rs` is `db`, `lib.rs` is the
/// crate root (empty).
fn module_of(file: &Path) -> Vec<String> {
    let mut parts: Vec<String> = file
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// How ARCHITECTURE.md names a file: `db/` for `db/mod.rs`, else its path.
fn map_name(file: &Path) -> String {
    let name = file.to_string_lossy().into_owned();
    match name.strip_suffix("mod.rs") {
        Some(dir) => dir.to_owned(),
        None => name,
    }
}

#[test]
fn the_code_map_names_every_module() {
    let architecture = read(&repo().join("ARCHITECTURE.md"));
    let mut missing = Vec::new();
    for crate_dir in ["server/src", "widget/src", "wire/src"] {
        for file in rust_files(&repo().join(crate_dir)) {
            let name = map_name(&file);
            if !architecture.contains(&format!("`{name}`")) {
                missing.push(format!("{crate_dir}/{name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name (in backticks, as a path under src/): {missing:?}"
    );
}

/// `crate::a::b::…` and `super::…` paths in a file's code (its tests left out: a test may
/// reach across), as module paths.
fn references(module: &[String], source: &str) -> BTreeSet<Vec<String>> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = BTreeSet::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (start, _) in code.match_indices("crate::") {
        let path: Vec<String> = code[start + "crate::".len()..]
            .split("::")
            .map(|segment| {
                segment
                    .chars()
                    .take_while(|&c| ident(c))
                    .collect::<String>()
            })
            .take_while(|segment| !segment.is_empty())
            .collect();
        found.insert(path);
    }
    for (start, _) in code.match_indices("super::") {
        if start > 0 && code[..start].ends_with(|c: char| ident(c) || c == ':') {
            continue;
        }
        // In `db/mod.rs` (module `db`), `super` is the crate root; in `db/sqlite.rs`, `db`.
        let mut path = module[..module.len().saturating_sub(1)].to_vec();
        path.extend(
            code[start + "super::".len()..]
                .split("::")
                .map(|segment| {
                    segment
                        .chars()
                        .take_while(|&c| ident(c))
                        .collect::<String>()
                })
                .take_while(|segment| !segment.is_empty()),
        );
        found.insert(path);
    }
    found
}

/// Sibling modules may not import each other at any level: `a` using `b` and `b` using `a`
/// (through any of their submodules) is a cycle. A module and its own submodules count as one
/// from outside.
#[test]
fn no_two_modules_import_each_other() {
    for crate_dir in ["server/src", "widget/src", "wire/src"] {
        let root = repo().join(crate_dir);
        let files = rust_files(&root);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
        // (parent, from child, to child): an edge between two children of one parent.
        let mut edges: BTreeMap<(Vec<String>, String, String), String> = BTreeMap::new();
        for file in &files {
            let from = module_of(file);
            for path in references(&from, &read(&root.join(file))) {
                // The longest prefix of the path that is a module.
                let to: Vec<String> = (0..=path.len())
                    .rev()
                    .map(|n| path[..n].to_vec())
                    .find(|prefix| modules.contains(prefix))
                    .unwrap_or_default();
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                let (Some(a), Some(b)) = (from.get(common), to.get(common)) else {
                    continue; // a module and its own ancestor or descendant
                };
                edges
                    .entry((from[..common].to_vec(), a.clone(), b.clone()))
                    .or_insert_with(|| format!("{}", file.display()));
            }
        }
        let cycles: Vec<String> = edges
            .iter()
            .filter(|((parent, a, b), _)| {
                a < b && edges.contains_key(&(parent.clone(), b.clone(), a.clone()))
            })
            .map(|((parent, a, b), file)| {
                let back = &edges[&(parent.clone(), b.clone(), a.clone())];
                format!("{crate_dir}: {a} ↔ {b} under {parent:?} (e.g. {file} and {back})")
            })
            .collect();
        assert!(
            cycles.is_empty(),
            "modules importing each other: {cycles:#?}"
        );
    }
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| -> BTreeSet<String> {
        fs::read_dir(repo().join("server/migrations").join(backend))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite.symmetric_difference(&postgres).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "a migration exists for one backend only"
    );
}

/// The codes of `ApiError::code` and `ConsoleError::code`: every `=> "snake_case"` in those
/// functions.
fn error_codes(source: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (start, _) in source.match_indices("fn code(&self)") {
        let body = &source[start..];
        let end = body.find("\n    }\n").unwrap_or(body.len());
        for (at, _) in body[..end].match_indices("=> \"") {
            let rest = &body[at + 4..end];
            if let Some(close) = rest.find('"') {
                codes.insert(rest[..close].to_owned());
            }
        }
    }
    codes
}

#[test]
fn the_readme_lists_every_error_code() {
    let readme = read(&repo().join("README.md"));
    let source = read(&repo().join("server/src/http/error.rs"));
    let codes = error_codes(&source);
    assert!(
        codes.len() > 20,
        "found only {codes:?}: has error.rs changed shape?"
    );
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| !readme.contains(&format!("`{code}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not list the error codes {missing:?}"
    );
}
