//! The report as text for a terminal.

use super::stats::{Report, RouteStats};
use crate::http::date;
use crate::http::time::UnixSecs;
use std::fmt::Write;

fn pct(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// `72.0% (40.0% / 32.0%)`: the hit ratio, and its memory and cache parts.
pub fn hit_ratio(r: &RouteStats) -> String {
    match r.hit_ratio {
        None => "-".into(),
        Some(_) => format!(
            "{} ({} / {})",
            pct(r.hit_ratio),
            pct(r.memory_ratio),
            pct(r.cache_ratio)
        ),
    }
}

fn latency(r: &RouteStats) -> String {
    r.origin_latency
        .map_or("-".into(), |l| format!("{}/{}/{}", l.p50, l.p95, l.p99))
}

/// An HTTP date of Unix milliseconds (the report's times are UTC).
pub fn when(ms: u64) -> String {
    date::format(UnixSecs(ms / 1000))
}

const HEADER: [&str; 12] = [
    "route",
    "requests",
    "hit mem/cache",
    "miss",
    "stale",
    "bypass",
    "pass",
    "5xx",
    "hit ratio (mem / cache)",
    "offload",
    "origin ms p50/p95/p99",
    "edge bytes",
];

fn row(r: &RouteStats) -> [String; 12] {
    [
        r.route.clone(),
        r.requests.to_string(),
        format!("{}/{}", r.hits_memory, r.hits_cache),
        r.misses.to_string(),
        r.stale.to_string(),
        r.bypass.to_string(),
        r.pass.to_string(),
        r.errors.to_string(),
        hit_ratio(r),
        pct(r.origin_offload),
        latency(r),
        r.edge_bytes.to_string(),
    ]
}

/// Columns padded to their widest cell, two spaces apart.
fn table(rows: &[[String; 12]]) -> String {
    let mut widths = [0usize; 12];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| match i {
                0 => format!("{c:<w$}"),
                _ => format!("{c:>w$}"),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The whole report: the table, the keys that missed most, the purges.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let span = match (report.from, report.to) {
        (Some(a), Some(b)) => format!(", {} to {}", when(a), when(b)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "edgecache report: {} requests, {} purges{span}\n",
        report.all.requests,
        report.purges.len()
    );
    let mut rows = vec![HEADER.map(String::from)];
    rows.extend(report.routes.iter().map(row));
    rows.push(row(&report.all));
    out.push_str(&table(&rows));
    let missed: Vec<&RouteStats> = report
        .routes
        .iter()
        .filter(|r| !r.top_missed.is_empty())
        .collect();
    if !missed.is_empty() {
        out.push_str("\ntop missed keys (key hash, reason, misses):\n");
    }
    for r in missed {
        let _ = writeln!(out, "  {}", r.route);
        for m in &r.top_missed {
            let _ = writeln!(out, "    {}  {}  {}", m.key, m.reason, m.count);
        }
    }
    if !report.purges.is_empty() {
        out.push_str("\npurges:\n");
    }
    for p in &report.purges {
        let mut what = p.tags.join(" ");
        if p.urls > 0 {
            let _ = write!(what, " urls={}", p.urls);
        }
        if p.prefixes > 0 {
            let _ = write!(what, " prefixes={}", p.prefixes);
        }
        if p.everything {
            what.push_str(" everything");
        }
        let _ = writeln!(
            out,
            "  {}  {}  status={} bumped={} deleted={} zone={}  {}",
            when(p.time),
            p.id,
            p.status,
            p.bumped,
            p.deleted,
            p.zone,
            what.trim()
        );
    }
    out
}
