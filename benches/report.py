#!/usr/bin/env python3
"""Turns the bench's JSON results into a table (stdout), the results section of
BENCHMARKS.md (between the bench:begin/bench:end markers; the rest of the file is
hand-written and kept) and benches/chart.svg.

Usage: python3 benches/report.py RESULTS_DIR
RESULTS_DIR holds keys.json, sizes.json, simulate.json, load.json, machine.json.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
FREE_LIMIT, PAID_LIMIT = 3 * 1024 * 1024, 10 * 1024 * 1024
GOAL_GZIP = 200 * 1000


def load(d, name):
    return json.loads((d / name).read_text())


def kb(n):
    return f"{n / 1000:.1f} KB"


def verdict(ok):
    return "met" if ok else "**missed**"


def origin_protection_rows(d):
    """Issue 13's rows: origin requests per purge under load, and origin body
    bytes on expiry with revalidation against without."""
    out = []
    sp = d / "stampede.json"
    if sp.exists():
        x = load(d, "stampede.json")
        out.append((f"Origin requests per purge under load ({x['readers']} readers, {x['keys']} hot list URLs, "
                    f"a purge a second for {x['seconds']} s)",
                    f"{x['per_purge']:.1f} ({x['origin_requests']} for {x['purges']} purges)",
                    f"ideal {x['keys']} (one per key per isolate)", f"{x['ratio']:.2f}× the ideal", "≤ 1.2×",
                    verdict(x["ratio"] <= 1.2)))
    for name, case in (("revalidation.json", "just expired"),
                       ("revalidation-short.json", "short TTL, read past twice the TTL")):
        if not (d / name).exists():
            continue
        x = load(d, name)
        after = f", each {x['after_s']:g} s after a 1 s TTL" if "after_s" in x else ""
        out.append((f"Origin body bytes on expiry, with revalidation, {case} ({x['keys']} keys, "
                    f"{x['rounds']} expiries{after})",
                    f"{x['bytes_with']:,} B", f"without (origin ignores If-None-Match) {x['bytes_without']:,} B",
                    f"{x['ratio']:.3f}× ({1 - x['ratio']:.1%} fewer)", "≥ 90% fewer", verdict(x["ratio"] <= 0.10)))
    return out


def rows(d):
    keys, sizes, sim, lo, m = (load(d, f) for f in
                               ("keys.json", "sizes.json", "simulate.json", "load.json", "machine.json"))
    out = []  # (measure, edgecache, baseline, ratio, goal, verdict)
    r = keys["ratio"]
    out.append(("Key normalization, native (keys/s; ns per URL)",
                f"{keys['key_per_s']:,.0f}/s ({keys['key_ns']:.0f} ns)",
                f"`Url::parse` {keys['parse_per_s']:,.0f}/s ({keys['parse_ns']:.0f} ns)",
                f"{r:.2f}× the cost", "≤ 1.5×", verdict(r <= 1.5)))
    ec, fl = sizes["edgecache"], sizes["floor"]
    out.append(("Wasm size, raw", kb(ec["raw"]), f"workers-rs floor {kb(fl['raw'])}",
                f"{ec['raw'] / fl['raw']:.2f}×", "—", "—"))
    out.append(("Wasm size, gzip -9", kb(ec["gzip"]), f"workers-rs floor {kb(fl['gzip'])}",
                f"{ec['gzip'] / fl['gzip']:.2f}×; {ec['gzip'] / FREE_LIMIT:.1%} of the 3 MB free limit, "
                f"{ec['gzip'] / PAID_LIMIT:.1%} of 10 MB paid",
                "≤ 200 KB", verdict(ec["gzip"] <= GOAL_GZIP)))
    h = lo["hit"]
    t = h["edgecache"]["rps_median"] / h["match"]["rps_median"]
    out.append(("Hit path, throughput (req/s, median round)", f"{h['edgecache']['rps_median']:,.0f}",
                f"JS `caches.default.match` {h['match']['rps_median']:,.0f}", f"{t:.2f}×", "≥ 2.0×",
                verdict(t >= 2.0)))
    out.append(("Hit path, latency p50 / p99", f"{h['edgecache']['p50_ms']:.2f} / {h['edgecache']['p99_ms']:.1f} ms",
                f"{h['match']['p50_ms']:.2f} / {h['match']['p99_ms']:.1f} ms",
                f"{h['edgecache']['p50_ms'] / h['match']['p50_ms']:.2f}× / "
                f"{h['edgecache']['p99_ms'] / h['match']['p99_ms']:.2f}×", "—", "—"))
    if "edgecache-nomem" in h:
        n = h["edgecache-nomem"]
        out.append(("Hit path with the memory tier off (every hit through the Cache API): throughput; p50 / p99",
                    f"{n['rps_median']:,.0f} req/s; {n['p50_ms']:.2f} / {n['p99_ms']:.1f} ms",
                    f"JS `caches.default.match` {h['match']['rps_median']:,.0f} req/s",
                    f"{n['rps_median'] / h['match']['rps_median']:.2f}×; "
                    f"{n['p50_ms'] / h['match']['p50_ms']:.2f}× / {n['p99_ms'] / h['match']['p99_ms']:.2f}×",
                    "≥ 1.0× (throughput)", verdict(n["rps_median"] >= h["match"]["rps_median"])))
    if "edgecache-nolog" in h:
        n = h["edgecache-nolog"]
        lr = h["edgecache"]["rps_median"] / n["rps_median"]
        out.append(("Hit path, logging on vs off (a JSON line per request, `log_sample` 1 vs 0): throughput; p50",
                    f"{h['edgecache']['rps_median']:,.0f} req/s; {h['edgecache']['p50_ms']:.2f} ms",
                    f"logging off {n['rps_median']:,.0f} req/s; {n['p50_ms']:.2f} ms",
                    f"{lr:.2f}×; {h['edgecache']['p50_ms'] / n['p50_ms']:.2f}×", "≥ 0.95×", verdict(lr >= 0.95)))
    s = lo["miss"]
    if "miss_paced" in lo:
        p = lo["miss_paced"]
        lr = p["edgecache"]["p50_ms"] / p["proxy"]["p50_ms"]
        rate = f"{lo['paced_rate']} req/s"
        out.append((f"Miss path, latency p50 / p99 at a fixed {rate}",
                    f"{p['edgecache']['p50_ms']:.2f} / {p['edgecache']['p99_ms']:.1f} ms",
                    f"JS pass-through proxy {p['proxy']['p50_ms']:.2f} / {p['proxy']['p99_ms']:.1f} ms",
                    f"{lr:.2f}× / {p['edgecache']['p99_ms'] / p['proxy']['p99_ms']:.2f}×", "—", "—"))
        st = p["store"]
        out.append((f"Miss path, latency p50 / p99 at {rate}, against a JS worker doing the same I/O",
                    f"{p['edgecache']['p50_ms']:.2f} / {p['edgecache']['p99_ms']:.1f} ms",
                    f"JS match + fetch + put in waitUntil {st['p50_ms']:.2f} / {st['p99_ms']:.1f} ms",
                    f"{p['edgecache']['p50_ms'] / st['p50_ms']:.2f}× / {p['edgecache']['p99_ms'] / st['p99_ms']:.2f}×",
                    "≤ 1.05× (p50)", verdict(p["edgecache"]["p50_ms"] <= 1.05 * st["p50_ms"])))
        label = f"Miss path at saturation (concurrency {lo['concurrency']}), latency p50 / p99"
    else:
        label = "Miss path, latency p50 / p99"
    lr = s["edgecache"]["p50_ms"] / s["proxy"]["p50_ms"]
    out.append((label, f"{s['edgecache']['p50_ms']:.2f} / {s['edgecache']['p99_ms']:.1f} ms",
                f"JS pass-through proxy {s['proxy']['p50_ms']:.2f} / {s['proxy']['p99_ms']:.1f} ms",
                f"{lr:.2f}× / {s['edgecache']['p99_ms'] / s['proxy']['p99_ms']:.2f}×",
                "—" if "miss_paced" in lo else "≤ 1.1× (p50)",
                "—" if "miss_paced" in lo else verdict(lr <= 1.1)))
    out.append(("Miss path at saturation, throughput (req/s)", f"{s['edgecache']['rps_median']:,.0f}",
                f"{s['proxy']['rps_median']:,.0f}",
                f"{s['edgecache']['rps_median'] / s['proxy']['rps_median']:.2f}×", "—", "—"))
    if "store" in s:
        st = s["store"]
        out.append(("Miss path at saturation, latency p50 / p99, against a JS worker doing the same I/O",
                    f"{s['edgecache']['p50_ms']:.2f} / {s['edgecache']['p99_ms']:.1f} ms",
                    f"JS match + fetch + put in waitUntil {st['p50_ms']:.2f} / {st['p99_ms']:.1f} ms "
                    f"({st['rps_median']:,.0f} req/s)",
                    f"{s['edgecache']['p50_ms'] / st['p50_ms']:.2f}× / {s['edgecache']['p99_ms'] / st['p99_ms']:.2f}×",
                    "—", "—"))
    out += cpu_rows(lo)
    c = lo["cold"]
    cp = d / "config-parse.json"
    out += cold_split_rows(c, load(d, "config-parse.json") if cp.exists() else None)
    out.append(("Cold start: new instance → first response (median)", f"{c['edgecache']['total_ms']:.0f} ms "
                f"(ready {c['edgecache']['ready_ms']:.0f} + first {c['edgecache']['first_response_ms']:.0f})",
                f"JS match worker {c['match']['total_ms']:.0f} ms (ready {c['match']['ready_ms']:.0f} + first "
                f"{c['match']['first_response_ms']:.0f})",
                f"{c['edgecache']['total_ms'] / c['match']['total_ms']:.2f}×", "≤ 1.2×",
                verdict(c["edgecache"]["total_ms"] <= 1.2 * c["match"]["total_ms"])))
    out += origin_protection_rows(d)
    by = {x["function"]: x for x in sim}
    for f in ("raw-url", "sorted-query", "edgecache"):
        x = by[f]
        out.append((f"Hit ratio, `{f}` keys", f"{x['hits'] / x['requests']:.1%}",
                    f"{x['distinct_keys']:,} distinct keys", "", "", ""))
    e, raw = by["edgecache"], by["raw-url"]
    out.append(("Hit ratio, edgecache vs raw URL", f"{e['hits'] / e['requests']:.1%}",
                f"{raw['hits'] / raw['requests']:.1%}", f"{e['hits'] / max(raw['hits'], 1):.2f}× the hits; "
                f"{(e['requests'] - e['hits']) / (raw['requests'] - raw['hits']):.2f}× the origin requests", "—", "—"))
    return out, keys, sizes, sim, lo, m


def cpu_rows(lo):
    """workerd CPU time per request (median round), the figure a Workers bill follows."""
    h, s = lo["hit"], lo["miss"]
    if "cpu_us_median" not in h["edgecache"]:
        return []
    us = lambda x: f"{x['cpu_us_median']:.0f} µs"
    out = [("CPU per request in workerd, hit (memory tier on; off)",
            f"{us(h['edgecache'])}; {us(h['edgecache-nomem'])}",
            f"JS `caches.default.match` {us(h['match'])}",
            f"{h['edgecache']['cpu_us_median'] / h['match']['cpu_us_median']:.2f}×; "
            f"{h['edgecache-nomem']['cpu_us_median'] / h['match']['cpu_us_median']:.2f}×", "—", "—")]
    out.append(("CPU per request in workerd, miss (at saturation)", us(s["edgecache"]),
                f"JS match + fetch + put {us(s['store'])}; JS proxy {us(s['proxy'])}",
                f"{s['edgecache']['cpu_us_median'] / s['store']['cpu_us_median']:.2f}× the store worker", "—", "—"))
    return out


def cold_split_rows(c, parse):
    """Start-up split: compile (a JS worker importing the Wasm, minus one without),
    instantiation and glue set-up (edgecache minus that), first request (which
    parses the config: its native time beside it)."""
    if "compile" not in c:
        return []
    e, m, k = c["edgecache"], c["match"], c["compile"]
    native = f" (config parse {parse['parse_us']:.0f} µs of it, native)" if parse else ""
    return [("Cold start split (median ms): module compile; instantiation + glue; first request",
             f"{k['ready_ms'] - m['ready_ms']:.0f}; {e['ready_ms'] - k['ready_ms']:.0f}; "
             f"{e['first_response_ms']:.0f}{native}",
             f"JS match worker: ready {m['ready_ms']:.0f}, first request {m['first_response_ms']:.0f}",
             f"first request {e['first_response_ms'] / m['first_response_ms']:.2f}×", "—", "—")]


def table(out):
    lines = ["| measure | edgecache | baseline (same run) | ratio | goal | |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in out]
    return "\n".join(lines)


def svg(sim, lo):
    """Two bar groups: hit ratio by key function; hit-path p50/p99 beside the baseline."""
    W, H = 720, 330
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
             'font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>']
    colors = {"raw-url": "#9e9e9e", "sorted-query": "#64b5f6", "edgecache": "#f57c00",
              "match": "#64b5f6"}
    # Left: hit ratio.
    x0, y0, ph = 40, 250, 190
    parts.append(f'<text x="{x0}" y="24" font-weight="bold">Hit ratio by key function (same log, same cache model)</text>')
    for i, s in enumerate(sim):
        r = s["hits"] / s["requests"]
        h = r * ph
        x = x0 + 20 + i * 95
        parts.append(f'<rect x="{x}" y="{y0 - h:.1f}" width="60" height="{h:.1f}" fill="{colors[s["function"]]}"/>')
        parts.append(f'<text x="{x + 30}" y="{y0 - h - 4:.1f}" text-anchor="middle">{r:.1%}</text>')
        parts.append(f'<text x="{x + 30}" y="{y0 + 16}" text-anchor="middle">{s["function"]}</text>')
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x0 + 310}" y2="{y0}" stroke="black"/>')
    # Right: hit-path latency.
    h = lo["hit"]
    x1 = 380
    series = [(n, c, label) for n, c, label in (
        ("edgecache", "#f57c00", "edgecache"),
        ("edgecache-nomem", "#ffcc80", "edgecache, memory tier off"),
        ("match", "#64b5f6", "JS caches.default.match")) if n in h]
    top = max(h[n]["p99_ms"] for n, _, _ in series)
    bw = 36
    parts.append(f'<text x="{x1}" y="44" font-weight="bold">Hit-path latency in workerd (ms)</text>')
    for j, (label, key) in enumerate((("p50", "p50_ms"), ("p99", "p99_ms"))):
        for k, (name, c, _) in enumerate(series):
            v = h[name][key]
            bh = v / top * ph
            x = x1 + 20 + j * 160 + k * (bw + 6)
            parts.append(f'<rect x="{x}" y="{y0 - bh:.1f}" width="{bw}" height="{bh:.1f}" fill="{c}"/>')
            parts.append(f'<text x="{x + bw / 2}" y="{y0 - bh - 4:.1f}" text-anchor="middle">{v:.1f}</text>')
        mid = x1 + 20 + j * 160 + len(series) * (bw + 6) / 2
        parts.append(f'<text x="{mid}" y="{y0 + 16}" text-anchor="middle">{label}</text>')
    parts.append(f'<line x1="{x1}" y1="{y0}" x2="{x1 + 320}" y2="{y0}" stroke="black"/>')
    for k, (_, c, label) in enumerate(series):
        parts.append(f'<rect x="{x1 + 20}" y="{y0 + 24 + k * 14}" width="10" height="10" fill="{c}"/>'
                     f'<text x="{x1 + 35}" y="{y0 + 33 + k * 14}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    d = pathlib.Path(sys.argv[1])
    out, keys, sizes, sim, lo, m = rows(d)
    t = table(out)
    print(t)
    section = "\n".join([
        BEGIN,
        f"Machine: {m['cores']} cores, {m['cpu']}; {m['os']}. Run: {m['date']}.",
        "",
        t,
        "",
        "![hit ratio by key function; hit-path latency beside its baseline](benches/chart.svg)",
        "",
        "Hit ratio details (`edgecache simulate --config wrangler.toml target/bench/traffic.log`):",
        "",
        "```",
        (d / "simulate.txt").read_text().rstrip(),
        "```",
        "",
        f"Key bench: {keys['urls']:,} URLs from the traffic log, {keys['rounds']} interleaved rounds, median. "
        f"Load: concurrency {lo['concurrency']}, {lo['rounds']} rounds (contenders in rotating order) of up to {lo['per_round']} "
        f"requests or {lo['round_ms'] / 1000:.0f} s per contender; hit-path req/s per round: edgecache "
        f"{lo['hit']['edgecache']['rps_rounds']}"
        + (f", memory tier off {lo['hit']['edgecache-nomem']['rps_rounds']}" if "edgecache-nomem" in lo["hit"] else "")
        + (f", logging off {lo['hit']['edgecache-nolog']['rps_rounds']}" if "edgecache-nolog" in lo["hit"] else "")
        + f", JS {lo['hit']['match']['rps_rounds']}; miss path at saturation: edgecache "
        f"{lo['miss']['edgecache']['rps_rounds']}, proxy {lo['miss']['proxy']['rps_rounds']}"
        + (f", JS store worker {lo['miss']['store']['rps_rounds']}" if "store" in lo["miss"] else "") + "."
        + (f" Fixed-rate miss rounds: {lo['paced_rate']} req/s for {lo['paced_ms'] / 1000:.1f} s per contender per "
           f"round, open loop, {lo['rounds']} rounds." if "miss_paced" in lo else ""),
        END,
    ])
    md = ROOT / "BENCHMARKS.md"
    text = md.read_text() if md.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    a, b = text.index(BEGIN), text.index(END) + len(END)
    md.write_text(text[:a] + section + text[b:])
    (ROOT / "benches/chart.svg").write_text(svg(sim, lo))


if __name__ == "__main__":
    main()
