//! The report as one self-contained HTML page: the table, and SVG charts of
//! the hit ratio per route over time, the origin's latency over time, and the
//! purges on the same timeline. No script, font or style from elsewhere; a
//! small inline script only records, for tests and the curious, that each
//! chart has a size once laid out (`body[data-rendered]`).

use super::read::Lines;
use super::stats::{latency, Report};
use super::text::{hit_ratio, when};
use crate::flow::observe::{Outcome, RequestLine};
use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 220.0;
/// Left, right, top, bottom margins of a plot.
const ML: f64 = 48.0;
const MR: f64 = 12.0;
const MT: f64 = 12.0;
const MB: f64 = 28.0;
/// Time buckets across the report's span.
const BUCKETS: u64 = 30;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The time axis: from, bucket width (ms), bucket count.
#[derive(Clone, Copy)]
struct Axis {
    from: u64,
    step: u64,
    n: u64,
}

impl Axis {
    fn of(lines: &Lines) -> Axis {
        let times = lines
            .requests
            .iter()
            .map(|r| r.time)
            .chain(lines.purges.iter().map(|p| p.time));
        let (lo, hi) = times.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        let (lo, hi) = if lo > hi { (0, 0) } else { (lo, hi) };
        let step = ((hi - lo) / BUCKETS + 1).max(1000);
        Axis {
            from: lo,
            step,
            n: (hi - lo) / step + 1,
        }
    }
    fn bucket(&self, t: u64) -> usize {
        usize::try_from((t.saturating_sub(self.from) / self.step).min(self.n - 1)).unwrap_or(0)
    }
    /// x of time `t` in the plot.
    fn x(&self, t: u64) -> f64 {
        let span = (self.step * self.n) as f64;
        ML + (t.saturating_sub(self.from) as f64 / span) * (W - ML - MR)
    }
    /// x of the middle of bucket `i`.
    fn xb(&self, i: usize) -> f64 {
        self.x(self.from + self.step * i as u64 + self.step / 2)
    }
}

fn y(v: f64, max: f64) -> f64 {
    H - MB - (v / max.max(f64::MIN_POSITIVE)) * (H - MT - MB)
}

/// The frame of a chart: axes, y labels at 0, half and `max`, time labels.
fn frame(out: &mut String, id: &str, title: &str, axis: Axis, max: f64, unit: &str) {
    let _ = write!(
        out,
        "<h2>{title}</h2><svg id=\"{id}\" class=\"chart\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\
         <rect x=\"{ML}\" y=\"{MT}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        W - ML - MR,
        H - MT - MB
    );
    for v in [0.0, max / 2.0, max] {
        let yy = y(v, max);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}{unit}</text>",
            ML - 4.0,
            yy + 4.0,
            v.round()
        );
    }
    for (i, t) in [axis.from, axis.from + axis.step * axis.n]
        .iter()
        .enumerate()
    {
        let anchor = if i == 0 { "start" } else { "end" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"{anchor}\">{}</text>",
            axis.x(*t),
            H - 8.0,
            escape(&when(*t))
        );
    }
}

/// A series of (bucket, value) as a polyline with a dot per point.
fn series(
    out: &mut String,
    class: &str,
    color: &str,
    points: &[(usize, f64)],
    axis: Axis,
    max: f64,
) {
    let coords: Vec<String> = points
        .iter()
        .map(|(i, v)| format!("{:.1},{:.1}", axis.xb(*i), y(*v, max)))
        .collect();
    let _ = write!(
        out,
        "<polyline class=\"series {class}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
        coords.join(" ")
    );
    for c in &coords {
        let (cx, cy) = c.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            out,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"2.5\" fill=\"{color}\"/>"
        );
    }
}

/// Dashed vertical lines where purges happened, with their tags as a tooltip.
fn purge_marks(out: &mut String, lines: &Lines, axis: Axis) {
    for p in &lines.purges {
        let x = axis.x(p.time);
        let _ = write!(
            out,
            "<line class=\"purge\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{MT}\" y2=\"{}\" stroke=\"#555\" \
             stroke-dasharray=\"4 3\"><title>purge {} {}</title></line>",
            H - MB,
            escape(&p.id),
            escape(&p.tags.join(" "))
        );
    }
}

fn legend(out: &mut String, names: &[(String, &str)]) {
    out.push_str("<p class=\"legend\">");
    for (name, color) in names {
        let _ = write!(
            out,
            "<span><i style=\"background:{color}\"></i>{}</span> ",
            escape(name)
        );
    }
    out.push_str("<span><i class=\"dash\"></i>purge</span></p>");
}

/// Hit ratio (hits and stale over cacheable requests) per route per bucket.
fn hit_chart(out: &mut String, report: &Report, lines: &Lines, axis: Axis) {
    frame(out, "hit-ratio", "Hit ratio per route", axis, 100.0, "%");
    let mut names = Vec::new();
    for (k, r) in report
        .routes
        .iter()
        .filter(|r| r.hit_ratio.is_some())
        .enumerate()
    {
        let color = COLORS[k % COLORS.len()];
        let mut by = vec![(0u64, 0u64); usize::try_from(axis.n).unwrap_or(1)];
        for l in lines.requests.iter().filter(|l| route_of(l) == r.route) {
            let slot = &mut by[axis.bucket(l.time)];
            match l.outcome {
                Outcome::Hit | Outcome::Stale => *slot = (slot.0 + 1, slot.1 + 1),
                Outcome::Miss => slot.1 += 1,
                _ => {}
            }
        }
        let points: Vec<(usize, f64)> = by
            .iter()
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(i, (h, n))| (i, *h as f64 * 100.0 / *n as f64))
            .collect();
        series(out, "route", color, &points, axis, 100.0);
        names.push((r.route.clone(), color));
    }
    purge_marks(out, lines, axis);
    out.push_str("</svg>");
    legend(out, &names);
}

fn route_of(l: &RequestLine) -> &str {
    l.route.as_deref().unwrap_or("-")
}

/// The origin's p50 and p95 per bucket.
fn latency_chart(out: &mut String, lines: &Lines, axis: Axis) {
    let mut by: Vec<Vec<u64>> = vec![Vec::new(); usize::try_from(axis.n).unwrap_or(1)];
    for l in &lines.requests {
        if let Some(ms) = l.origin_ms {
            by[axis.bucket(l.time)].push(ms);
        }
    }
    let per: Vec<(usize, u64, u64)> = by
        .into_iter()
        .enumerate()
        .filter_map(|(i, v)| latency(v).map(|l| (i, l.p50, l.p95)))
        .collect();
    let max = per.iter().map(|p| p.2).max().unwrap_or(1).max(1) as f64;
    frame(out, "origin-latency", "Origin latency (ms)", axis, max, "");
    let p50: Vec<(usize, f64)> = per.iter().map(|p| (p.0, p.1 as f64)).collect();
    let p95: Vec<(usize, f64)> = per.iter().map(|p| (p.0, p.2 as f64)).collect();
    series(out, "p50", COLORS[0], &p50, axis, max);
    series(out, "p95", COLORS[1], &p95, axis, max);
    purge_marks(out, lines, axis);
    out.push_str("</svg>");
    legend(out, &[("p50".into(), COLORS[0]), ("p95".into(), COLORS[1])]);
}

fn table(out: &mut String, report: &Report) {
    out.push_str(
        "<table><tr><th>route</th><th>requests</th><th>hit ratio (memory / cache)</th>\
         <th>miss</th><th>stale</th><th>bypass</th><th>pass</th><th>5xx</th><th>offload</th>\
         <th>origin ms p50/p95/p99</th><th>edge bytes</th></tr>",
    );
    for r in report.routes.iter().chain([&report.all]) {
        let lat = r
            .origin_latency
            .map_or("-".into(), |l| format!("{}/{}/{}", l.p50, l.p95, l.p99));
        let offload = r
            .origin_offload
            .map_or("-".into(), |o| format!("{:.1}%", o * 100.0));
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{offload}</td><td>{lat}</td><td>{}</td></tr>",
            escape(&r.route),
            r.requests,
            hit_ratio(r),
            r.misses,
            r.stale,
            r.bypass,
            r.pass,
            r.errors,
            r.edge_bytes
        );
    }
    out.push_str("</table>");
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}.legend span{margin-right:14px}\
.legend i{display:inline-block;width:14px;height:3px;margin-right:4px;vertical-align:middle}\
.legend i.dash{border-top:2px dashed #555;height:0}";

/// Records each chart's laid-out size and its drawn series in `body[data-rendered]`.
const SCRIPT: &str = "addEventListener('load',function(){var o={};\
document.querySelectorAll('svg.chart').forEach(function(s){var r=s.getBoundingClientRect();\
var p=[];s.querySelectorAll('polyline.series').forEach(function(l){var b=l.getBBox();\
p.push([Math.round(b.width),Math.round(b.height)])});o[s.id]={width:Math.round(r.width),\
height:Math.round(r.height),series:p,purges:s.querySelectorAll('line.purge').length}});\
document.body.setAttribute('data-rendered',JSON.stringify(o))});";

/// The page.
pub fn render(report: &Report, lines: &Lines) -> String {
    let axis = Axis::of(lines);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>edgecache report</title><style>{STYLE}</style></head><body>\
         <h1>edgecache report</h1><p>{} requests, {} purges</p>",
        report.all.requests,
        report.purges.len()
    );
    table(&mut out, report);
    hit_chart(&mut out, report, lines, axis);
    latency_chart(&mut out, lines, axis);
    out.push_str("<h2>Purges</h2><ul>");
    for p in &report.purges {
        let _ = write!(
            out,
            "<li>{} {} status={} bumped={} deleted={} {}</li>",
            escape(&when(p.time)),
            escape(&p.id),
            p.status,
            p.bumped,
            p.deleted,
            escape(&p.tags.join(" "))
        );
    }
    let _ = writeln!(out, "</ul><script>{SCRIPT}</script></body></html>");
    out
}
