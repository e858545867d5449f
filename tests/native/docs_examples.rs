//! The examples in README.md and docs/*.md are run, so a doc example that stops
//! working fails `make test`.
//!
//! What is found, by fence language and content (see `docs/testing.md`):
//! - config examples: any fenced block with a `[vars.EDGECACHE]` or
//!   `[[vars.EDGECACHE.routes]]` table goes through `load_wrangler_toml`, the
//!   parser the CLI and worker use (a routes-only snippet gets `origin` added);
//! - command examples: every line of a `sh` block. `edgecache check|explain`
//!   (also spelled `cargo run --bin edgecache --`) runs the built binary from the
//!   repository root; a trailing `# comment` is the expected output (`check`: the
//!   output line; `explain`: `field: value` of its JSON). `curl` lines are run by
//!   the end-to-end test `tests/e2e/docs.test.mjs` in front of the demo origin.
//!   Any other command fails this test until it is taught here or marked;
//! - URL → key tables in docs/keys.md go through the key function;
//! - `json` blocks are purge webhook bodies: `parse_purge_body` accepts them.
//!
//! A block that is deliberately not runnable has `<!-- not-tested: reason -->` on
//! the line before its fence. Run with `--nocapture` to see the counts.

use edgecache::config::{load_wrangler_toml, Config};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::purge::body::parse_purge_body;
use edgecache::request::explain::explain;
use edgecache::request::key::{normalize_url_for_purge, KeyRequest};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_edgecache");

/// A fenced block: where it is, its language, its text, and why it is skipped.
struct Block {
    place: String,
    lang: String,
    text: String,
    not_tested: Option<String>,
}

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Every fenced block of one markdown text. The marker must be the last non-blank
/// line before the fence.
fn blocks(name: &str, md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i;
        let mut text = String::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            text.push_str(lines[i]);
            text.push('\n');
            i += 1;
        }
        i += 1;
        let before = lines[..start].iter().rev().find(|l| !l.trim().is_empty());
        let not_tested = before
            .and_then(|l| l.trim().strip_prefix("<!-- not-tested:"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(|r| r.trim().to_string());
        out.push(Block {
            place: format!("{name}:{}", start + 1),
            lang: lang.trim().to_string(),
            text,
            not_tested,
        });
    }
    out
}

fn all_blocks() -> Vec<Block> {
    doc_files()
        .iter()
        .flat_map(|p| {
            let name = p.strip_prefix(ROOT).unwrap().display().to_string();
            blocks(&name, &std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

fn is_config(b: &Block) -> bool {
    b.text.lines().any(|l| {
        let l = l.trim();
        l == "[vars.EDGECACHE]" || l == "[[vars.EDGECACHE.routes]]"
    })
}

fn is_commands(b: &Block) -> bool {
    matches!(b.lang.as_str(), "sh" | "bash" | "shell" | "console")
}

/// A routes-only snippet is a valid config once it has an origin.
fn complete(toml: &str) -> String {
    if toml.lines().any(|l| l.trim() == "[vars.EDGECACHE]") {
        toml.to_string()
    } else {
        format!("[vars.EDGECACHE]\norigin = \"http://127.0.0.1:8000\"\n\n{toml}")
    }
}

#[test]
fn every_config_example_is_a_valid_config() {
    let (mut ran, mut skipped) = (0, 0);
    for b in all_blocks().iter().filter(|b| is_config(b)) {
        if let Some(why) = &b.not_tested {
            eprintln!("skipped {} ({why})", b.place);
            skipped += 1;
            continue;
        }
        let config = load_wrangler_toml(&complete(&b.text), None)
            .unwrap_or_else(|e| panic!("{}: the config example is invalid: {e}", b.place));
        let tables = b
            .text
            .lines()
            .filter(|l| l.trim() == "[[vars.EDGECACHE.routes]]");
        assert_eq!(config.routes.len(), tables.count(), "{}", b.place);
        ran += 1;
    }
    eprintln!("config examples: {ran} run, {skipped} skipped");
    assert!(
        ran >= 2,
        "only {ran} config examples found: is the extraction broken?"
    );
}

/// Command lines of a block: `\` continuations joined, comments and blanks dropped.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            continue;
        }
        cur.push_str(t);
        out.push(std::mem::take(&mut cur));
    }
    out
}

/// Splits `cmd   # expected` at the first ` #` outside quotes.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if line[..i].ends_with(' ') => {
                return (line[..i].trim(), Some(line[i + 1..].trim()));
            }
            _ => {}
        }
    }
    (line.trim(), None)
}

/// Shell words with '…' and "…" quoting; no expansion (a `$` fails the test).
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut quote = None;
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.get_or_insert_with(String::new);
            }
            (Some(q), _) if c == q => quote = None,
            (None, ' ' | '\t') => out.extend(cur.take()),
            _ => cur.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(cur);
    out
}

/// The `edgecache` arguments of a CLI line, or None when it is not one.
fn cli_args(cmd: &str) -> Option<Vec<String>> {
    let w = words(cmd);
    let rest = match w.iter().position(|a| a == "--") {
        Some(i)
            if w.starts_with(&["cargo".into(), "run".into()])
                && w.contains(&"edgecache".into()) =>
        {
            &w[i + 1..]
        }
        _ if w.first().is_some_and(|a| a == "edgecache") => &w[1..],
        _ => return None,
    };
    Some(rest.to_vec())
}

fn run_cli(place: &str, args: &[String], expected: Option<&str>) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{place}: edgecache {args:?} failed: {stderr}"
    );
    let Some(expected) = expected else { return };
    match args.first().map(String::as_str) {
        Some("explain") => {
            let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            for pair in expected.split(';') {
                let (field, want) = pair.split_once(':').unwrap();
                let got = match &json[field.trim()] {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                assert_eq!(got, want.trim(), "{place}: explain `{}`", field.trim());
            }
        }
        _ => assert_eq!(stdout.trim(), expected, "{place}: edgecache {args:?}"),
    }
}

#[test]
fn every_command_example_runs_and_prints_what_the_doc_says() {
    let (mut ran, mut skipped, mut e2e) = (0, 0, 0);
    for b in all_blocks().iter().filter(|b| is_commands(b)) {
        if let Some(why) = &b.not_tested {
            eprintln!("skipped {} ({why})", b.place);
            skipped += 1;
            continue;
        }
        for line in command_lines(&b.text) {
            let (cmd, expected) = split_comment(&line);
            if cmd.starts_with("curl ") {
                e2e += 1; // tests/e2e/docs.test.mjs runs it
                continue;
            }
            let args = cli_args(cmd).unwrap_or_else(|| {
                panic!("{}: `{cmd}` is not a command this test runs: teach it or mark the block <!-- not-tested: reason -->", b.place)
            });
            let sub = args.first().map(String::as_str);
            assert!(
                matches!(sub, Some("check" | "explain")) && !cmd.contains('$'),
                "{}: `{cmd}` needs a running worker or secrets: mark the block <!-- not-tested: reason -->",
                b.place
            );
            run_cli(&b.place, &args, expected);
            ran += 1;
        }
    }
    eprintln!("command examples: {ran} run here, {e2e} curl lines for tests/e2e/docs.test.mjs, {skipped} blocks skipped");
    assert!(
        ran >= 3 && e2e >= 4,
        "too few command examples found ({ran}, {e2e}): is the extraction broken?"
    );
}

fn fixture_config() -> Config {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join("tests/fixtures/wrangler.toml")).unwrap();
    load_wrangler_toml(&text, None).unwrap()
}

/// The cells of the rows of the markdown table whose header is `header`.
fn table_rows(md: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = md.lines().skip_while(|l| l.trim() != header).skip(2);
    let mut rows = Vec::new();
    for l in lines.by_ref().take_while(|l| l.starts_with('|')) {
        let cells = l.trim().trim_matches('|').split(" | ");
        rows.push(cells.map(|c| c.trim().to_string()).collect());
    }
    rows
}

/// The `code` spans of a table cell.
fn spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// `want` with `<32 hex>` standing for 32 lower-case hex digits.
fn key_matches(want: &str, got: &str) -> bool {
    match want.split_once("<32 hex>") {
        None => want == got,
        Some((a, b)) => {
            got.len() == a.len() + 32 + b.len()
                && got.starts_with(a)
                && got.ends_with(b)
                && got[a.len()..a.len() + 32]
                    .bytes()
                    .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        }
    }
}

#[test]
fn keys_md_examples_are_what_the_key_function_gives() {
    let md = std::fs::read_to_string(Path::new(ROOT).join("docs/keys.md")).unwrap();
    let config = fixture_config();
    let rows = table_rows(&md, "| request | key |");
    for row in &rows {
        let (req, want) = (spans(&row[0]), spans(&row[1])[0]);
        let (method, url) = req[0].split_once(' ').unwrap();
        let mut headers = Headers::new();
        for h in &req[1..] {
            let (n, v) = h.split_once(": ").unwrap();
            headers.append(n, v);
        }
        let method = Method::parse(method);
        let e = explain(
            &config,
            &KeyRequest {
                method: &method,
                url,
                headers: &headers,
                user_secret: Some(b"docs-secret"),
            },
        );
        let got = e
            .key
            .unwrap_or_else(|| panic!("{}: not cacheable: {:?}", row[0], e.reason));
        assert!(
            key_matches(want, &got),
            "docs/keys.md: {}\n  doc:  {want}\n  code: {got}",
            row[0]
        );
    }
    let purges = table_rows(&md, "| URL, any spelling | purged key |");
    for row in &purges {
        let (url, want) = (spans(&row[0])[0], spans(&row[1])[0]);
        let (_, got) = normalize_url_for_purge(&config, url).unwrap();
        assert_eq!(got, want, "docs/keys.md purge example {url}");
    }
    eprintln!(
        "keys.md examples: {} keys, {} purge keys",
        rows.len(),
        purges.len()
    );
    assert!(
        rows.len() >= 4 && !purges.is_empty(),
        "keys.md tables not found"
    );
}

#[test]
fn every_json_example_is_a_purge_body_the_worker_accepts() {
    let (mut ran, mut skipped) = (0, 0);
    for b in all_blocks().iter().filter(|b| b.lang == "json") {
        if let Some(why) = &b.not_tested {
            eprintln!("skipped {} ({why})", b.place);
            skipped += 1;
            continue;
        }
        if let Err(e) = parse_purge_body(b.text.as_bytes()) {
            panic!("{}: not a valid purge body ({e}); mark the block <!-- not-tested: reason --> if it is something else", b.place);
        }
        ran += 1;
    }
    eprintln!("purge body examples: {ran} run, {skipped} skipped");
    assert!(
        ran >= 1,
        "no purge body example found: is the extraction broken?"
    );
}
