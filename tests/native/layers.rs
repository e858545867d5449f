//! The layer rule of `docs/architecture.md`, read from the source:
//!
//! ```text
//! http ← config ← request | response ← purge ← flow ← glue, simulate, sim, the CLI
//! ```
//!
//! A file may import (`use crate::…`, or name `crate::…` inline) only its own
//! folder and the folders of lower layers; `request` and `response` never
//! import each other; nothing imports `glue`. Among the core's files there is
//! no import cycle (a folder's `mod.rs` re-exports count as its imports, so a
//! file reaches its siblings through `super::sibling`, never the facade).
//! Core and glue files stay under [`MAX_FILE_LINES`] lines and functions
//! under [`MAX_FN_LINES`].
//!
//! Every failure names the file and the path it imports. The checker itself is
//! tested on small made-up sources at the bottom, so a broken checker fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layer of each top folder of `src/`, lowest first.
const LAYERS: &[(&str, u8)] = &[
    ("http", 0),
    ("config", 1),
    ("request", 2),
    ("response", 2),
    ("purge", 3),
    ("flow", 4),
    ("glue", 5),
    ("simulate", 5),
    ("sim", 5),
    ("report", 5),
    ("bin", 6),
];
/// Folders of the pure core (no runtime types, sizes checked).
const CORE: &[&str] = &["http", "config", "request", "response", "purge", "flow"];
/// Folders whose files are held to [`MAX_FILE_LINES`]: the core and the glue
/// (the request sequence's home was a 482-line glue file once).
const SIZED: &[&str] = &[
    "http", "config", "request", "response", "purge", "flow", "glue",
];
/// Longest core file, counted up to its `#[cfg(test)]` module.
const MAX_FILE_LINES: usize = 420;
/// Longest function body anywhere in `src/`.
const MAX_FN_LINES: usize = 80;

struct Source {
    /// `src/…` path with `/` separators.
    path: String,
    text: String,
}

fn read_sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<Source>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).expect("utf-8 source");
                let path = p.to_string_lossy().replace('\\', "/");
                out.push(Source { path, text });
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("src"), &mut out);
    assert!(
        out.len() > 20,
        "read only {} files: run from the crate root",
        out.len()
    );
    out
}

/// The source up to its `#[cfg(test)]` module (tests inside a file are no
/// part of the layering), with comments, string and char literals blanked (same length, so
/// byte offsets and line numbers stay), so doc links and messages are no imports.
fn code_only(text: &str) -> String {
    let text = text.find("\n#[cfg(test)]").map_or(text, |at| &text[..at]);
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in out.iter_mut().take(to).skip(from) {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'r' && (b[i + 1..].starts_with(b"#\"") || b[i + 1..].starts_with(b"\""))
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 1 + hashes + 1;
            let end = text[start..]
                .find(&close)
                .map_or(b.len(), |n| start + n + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, (j + 1).min(b.len()));
            i = j + 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            let end = b[i + 1..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(i + 1, |n| i + 1 + n + 1);
            blank(&mut out, i, end);
            i = end;
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("still utf-8")
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Every path a file names: `use` trees expanded (`use crate::a::{b, c::d}` →
/// `crate::a::b`, `crate::a::c::d`) and inline paths (`crate::a::f(…)`), each
/// with the line it is on. Only paths that start `crate`, `super` or `self`,
/// or (in `use`) a child module name, are kept.
fn paths(code: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    // `use` statements.
    let mut i = 0;
    while let Some(n) = code[i..].find("use ") {
        let at = i + n;
        i = at + 4;
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            break;
        };
        let tree: String = code[at + 4..at + end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for p in expand(&tree) {
            out.push((line_of(at), p));
        }
        i = at + end;
    }
    // Inline `crate::…`, `super::…`.
    for root in ["crate::", "super::"] {
        let mut i = 0;
        while let Some(n) = code[i..].find(root) {
            let at = i + n;
            i = at + root.len();
            if at > 0 && (is_ident(bytes[at - 1]) || bytes[at - 1] == b':') {
                continue;
            }
            let mut segs = vec![root.trim_end_matches(':').to_string()];
            let mut j = at + root.len();
            loop {
                let k = j + bytes[j..].iter().take_while(|&&c| is_ident(c)).count();
                if k == j {
                    break;
                }
                segs.push(code[j..k].to_string());
                if code[k..].starts_with("::") && bytes.get(k + 2).is_some_and(|&c| is_ident(c)) {
                    j = k + 2;
                } else {
                    break;
                }
            }
            out.push((line_of(at), segs));
        }
    }
    // A `use crate::a::b` is found by both scans.
    out.sort();
    out.dedup();
    out
}

/// Expands one use tree written without whitespace.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn go(prefix: &[String], s: &str, out: &mut Vec<Vec<String>>) {
        if let Some(open) = s.find('{') {
            let head: Vec<String> = s[..open]
                .trim_end_matches("::")
                .split("::")
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect();
            let mut p = prefix.to_vec();
            p.extend(head);
            let inner = &s[open + 1..s.rfind('}').unwrap_or(s.len())];
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&p, &inner[start..k], out);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            go(&p, &inner[start..], out);
        } else if !s.is_empty() {
            let mut p = prefix.to_vec();
            let s = s.split("as").next().unwrap_or(s);
            p.extend(s.split("::").filter(|x| !x.is_empty()).map(str::to_string));
            if p.last().is_some_and(|l| l == "self") {
                p.pop();
            }
            out.push(p);
        }
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    out
}

/// The module path of a file: `src/flow/stored.rs` → `["flow", "stored"]`,
/// `src/flow/mod.rs` → `["flow"]`.
fn module_of(path: &str) -> Vec<String> {
    let rel = path.trim_start_matches("src/").trim_end_matches(".rs");
    let mut m: Vec<String> = rel.split('/').map(str::to_string).collect();
    if m.last().is_some_and(|l| l == "mod" || l == "lib") {
        m.pop();
    }
    m
}

/// The file a module path names, longest existing prefix first.
fn resolve(module: &[String], files: &BTreeSet<String>) -> Option<String> {
    for n in (1..=module.len()).rev() {
        let m = module[..n].join("/");
        for cand in [format!("src/{m}.rs"), format!("src/{m}/mod.rs")] {
            if files.contains(&cand) {
                return Some(cand);
            }
        }
    }
    None
}

/// A path as an absolute module path from the crate root, seen from `file`.
fn absolute(file: &str, path: &[String], files: &BTreeSet<String>) -> Option<Vec<String>> {
    let here = module_of(file);
    let is_mod_file = file.ends_with("/mod.rs") || file.ends_with("lib.rs");
    // The module `self` names: the file's own module.
    let mut base = here.clone();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &path[1..];
        }
        Some("self") => rest = &path[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some(first) => {
            // `use child::X` from a folder's mod.rs (or `use sibling` never: that
            // needs `super`). Anything else is an external crate or std.
            let mut child = here.clone();
            child.push(first.to_string());
            let exists =
                is_mod_file && resolve(&child, files).is_some_and(|f| module_of(&f) == child);
            if !exists {
                return None;
            }
        }
        None => return None,
    }
    let mut m = base;
    m.extend(rest.iter().cloned());
    Some(m)
}

fn layer(folder: &str) -> Option<u8> {
    LAYERS.iter().find(|(f, _)| *f == folder).map(|&(_, l)| l)
}

/// The top folder of a file (`src/flow/stored.rs` → `flow`); `None` for lib.rs.
fn folder(path: &str) -> Option<&str> {
    let rel = path.strip_prefix("src/")?;
    rel.split_once('/').map(|(f, _)| f)
}

/// Every import that breaks the layer rule, as `file:line: message`.
fn layer_violations(sources: &[Source]) -> Vec<String> {
    let files: BTreeSet<String> = sources.iter().map(|s| s.path.clone()).collect();
    let mut out = Vec::new();
    for s in sources {
        let Some(from) = folder(&s.path) else {
            continue;
        };
        let Some(from_layer) = layer(from) else {
            out.push(format!(
                "{}: folder `{from}` has no layer in tests/native/layers.rs",
                s.path
            ));
            continue;
        };
        for (line, p) in paths(&code_only(&s.text)) {
            // The CLI names the library as `edgecache::…`.
            let p = if p.first().is_some_and(|r| r == "edgecache") {
                let mut q = p.clone();
                q[0] = "crate".into();
                q
            } else {
                p
            };
            let Some(abs) = absolute(&s.path, &p, &files) else {
                continue;
            };
            let Some(to) = abs.first().map(String::as_str) else {
                continue;
            };
            if to == from {
                continue;
            }
            let Some(to_layer) = layer(to) else { continue };
            let name = format!("crate::{}", abs.join("::"));
            if to == "glue" {
                out.push(format!(
                    "{}:{line}: imports {name}: nothing imports glue",
                    s.path
                ));
            } else if to_layer >= from_layer {
                out.push(format!(
                    "{}:{line}: imports {name}: `{from}` (layer {from_layer}) may import only \
                     lower layers, not `{to}` (layer {to_layer})",
                    s.path
                ));
            }
        }
    }
    out
}

/// Import cycles among files, each as `a -> b -> … -> a`.
fn cycles(sources: &[Source], only: &[&str]) -> Vec<String> {
    let files: BTreeSet<String> = sources.iter().map(|s| s.path.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources {
        if !folder(&s.path).is_some_and(|f| only.contains(&f)) {
            continue;
        }
        let set = edges.entry(s.path.clone()).or_default();
        for (_, p) in paths(&code_only(&s.text)) {
            if let Some(to) = absolute(&s.path, &p, &files).and_then(|m| resolve(&m, &files)) {
                if to != s.path && folder(&to).is_some_and(|f| only.contains(&f)) {
                    set.insert(to);
                }
            }
        }
    }
    // Depth-first search; a back edge closes a cycle.
    fn dfs(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                0 => dfs(m, edges, state, stack, out),
                1 => {
                    let start = stack.iter().position(|x| x == m).unwrap_or(0);
                    let mut c = stack[start..].to_vec();
                    c.push(m.clone());
                    out.push(c.join(" -> "));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    let mut out = Vec::new();
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            dfs(n, &edges, &mut state, &mut Vec::new(), &mut out);
        }
    }
    out
}

/// Core and glue files over [`MAX_FILE_LINES`] (counted up to `#[cfg(test)]`) and
/// functions over [`MAX_FN_LINES`] anywhere.
fn size_violations(sources: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for s in sources {
        let lines: Vec<&str> = s.text.lines().collect();
        let code_lines = lines
            .iter()
            .position(|l| l.trim() == "#[cfg(test)]")
            .unwrap_or(lines.len());
        if folder(&s.path).is_some_and(|f| SIZED.contains(&f)) && code_lines > MAX_FILE_LINES {
            out.push(format!(
                "{}: {code_lines} lines; at most {MAX_FILE_LINES} in the core and the glue",
                s.path
            ));
        }
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let indent = l.len() - t.len();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) async fn ",
            ]
            .iter()
            .any(|p| t.starts_with(p));
            if !is_fn || t.ends_with(';') || t.ends_with('}') {
                continue;
            }
            let close = format!("{}}}", " ".repeat(indent));
            let Some(len) = lines[i + 1..].iter().position(|x| x.trim_end() == close) else {
                continue;
            };
            if len + 2 > MAX_FN_LINES {
                let from_fn = t.find("fn ").map_or(t, |k| &t[k..]);
                let name = from_fn.split('(').next().unwrap_or(from_fn);
                out.push(format!(
                    "{}:{}: `{name}` is {} lines; at most {MAX_FN_LINES}",
                    s.path,
                    i + 1,
                    len + 2
                ));
            }
        }
    }
    out
}

#[test]
fn no_file_imports_a_higher_layer_or_the_glue() {
    let v = layer_violations(&read_sources());
    assert!(v.is_empty(), "layer rule broken:\n{}", v.join("\n"));
}

#[test]
fn the_core_has_no_import_cycle() {
    let c = cycles(&read_sources(), CORE);
    assert!(c.is_empty(), "import cycles:\n{}", c.join("\n"));
}

#[test]
fn core_files_and_functions_stay_small() {
    let v = size_violations(&read_sources());
    assert!(v.is_empty(), "too large:\n{}", v.join("\n"));
}

// The checker on made-up sources: each rule can fail, and says where.

fn fake(files: &[(&str, &str)]) -> Vec<Source> {
    files
        .iter()
        .map(|(p, t)| Source {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect()
}

#[test]
fn checker_names_the_file_and_path_of_an_upward_import() {
    let v = layer_violations(&fake(&[
        (
            "src/config/parse.rs",
            "use crate::flow::copy::BUFFERED_COPY_LIMIT;\n",
        ),
        ("src/flow/copy.rs", ""),
        ("src/flow/mod.rs", "pub mod copy;\n"),
    ]));
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].starts_with("src/config/parse.rs:1: imports crate::flow::copy::BUFFERED_COPY_LIMIT"),
        "{v:?}"
    );
}

#[test]
fn checker_sees_grouped_and_inline_paths_but_not_comments_or_strings() {
    let v = layer_violations(&fake(&[
        (
            "src/request/key.rs",
            "use crate::{http::headers::Headers, response::store::X};\n\
             // crate::purge::nothing in a comment\n\
             const S: &str = \"crate::flow::nothing\";\n\
             fn f() { crate::purge::generations::g(); }\n",
        ),
        ("src/http/headers.rs", ""),
        ("src/response/store.rs", ""),
        ("src/purge/generations.rs", ""),
    ]));
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].contains("crate::response::store::X"), "{v:?}");
    assert!(
        v[1].contains("src/request/key.rs:4: imports crate::purge::generations::g"),
        "{v:?}"
    );
}

#[test]
fn checker_refuses_imports_of_glue_and_between_request_and_response() {
    let v = layer_violations(&fake(&[
        (
            "src/response/store.rs",
            "use crate::request::key::CacheKey;\n",
        ),
        ("src/simulate/mod.rs", "use crate::glue::State;\n"),
        ("src/request/key.rs", ""),
        ("src/glue/mod.rs", ""),
    ]));
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[1].contains("nothing imports glue"), "{v:?}");
}

#[test]
fn checker_allows_lower_layers_and_the_own_folder() {
    let v = layer_violations(&fake(&[
        (
            "src/flow/plan.rs",
            "use super::entry::X;\nuse crate::purge::body::Y;\nuse crate::http::text::z;\n",
        ),
        ("src/flow/entry.rs", ""),
        ("src/purge/body.rs", ""),
        ("src/http/text.rs", ""),
    ]));
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn checker_finds_a_cycle_through_a_facade() {
    let c = cycles(
        &fake(&[
            (
                "src/flow/mod.rs",
                "pub mod stored;\npub use stored::on_stored;\n",
            ),
            ("src/flow/stored.rs", "use crate::flow::Lookup;\n"),
        ]),
        CORE,
    );
    assert_eq!(
        c,
        vec!["src/flow/mod.rs -> src/flow/stored.rs -> src/flow/mod.rs"]
    );
}

#[test]
fn checker_counts_long_files_and_functions() {
    let long_fn = format!("fn big() {{\n{}}}\n", "    x();\n".repeat(MAX_FN_LINES));
    let long_file = "const A: u8 = 0;\n".repeat(MAX_FILE_LINES + 1);
    let v = size_violations(&fake(&[
        ("src/flow/plan.rs", &long_fn),
        ("src/purge/body.rs", &long_file),
        ("src/glue/lookup.rs", &long_file),
        ("src/report/html.rs", &long_file),
    ]));
    assert_eq!(v.len(), 3, "{v:?}");
    assert!(v[0].contains("src/flow/plan.rs:1: `fn big`"), "{v:?}");
    assert!(v[1].starts_with("src/purge/body.rs:"), "{v:?}");
    assert!(v[2].starts_with("src/glue/lookup.rs:"), "{v:?}");
}
