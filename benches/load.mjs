// End-to-end bench in workerd (Miniflare): edgecache against minimal JavaScript
// workers, same origin on loopback, same load generator, interleaved rounds.
//
//   node benches/load.mjs CONFIG_JSON OUT_JSON
//
// CONFIG_JSON: the EDGECACHE object (scripts/bench.sh converts wrangler.toml);
// its `origin` is replaced with the bench origin. Reports only; asserts nothing
// about speed (it does check that the hit path really hits).
import http from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { COMPAT_DATE, ROOT, SECRETS, children, cpuMs, get as timedGet, startOrigin } from "./common.mjs";

const CONCURRENCY = 8;
const ROUNDS = 6; // per path; contender and baseline alternate who goes first
const PER_ROUND = 2000; // requests per contender per round...
const ROUND_MS = 5000; // ...or this long, whichever ends first
const COLD_STARTS = 7;
const HOT_URLS = 64;
// Miss latency below saturation: an open-loop schedule (requests leave on time,
// whatever earlier ones are doing) at a rate every contender sustains.
const PACED_RATE = 100; // req/s
const PACED_MS = 2500; // per contender per round

const [configPath, outPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));



function options(kind, origin) {
  const common = { modules: true, compatibilityDate: COMPAT_DATE, host: "127.0.0.1", port: 0 };
  if (kind.startsWith("edgecache")) {
    // "edgecache-nomem": the same config with the memory tier off, so every hit
    // goes through the Cache API as the JS baseline's does.
    const memory = kind === "edgecache-nomem" ? { memory: { max_bytes: 0 } } : {};
    // "edgecache-nolog": no request log lines (log_sample 0); the shipped
    // config logs every request (printed to this process, which writes it on).
    const nolog = kind === "edgecache-nolog" ? { observability: { log_sample: 0 } } : {};
    return {
      ...common,
      scriptPath: path.join(ROOT, "build/index.js"),
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      bindings: { EDGECACHE: { ...config, origin, ...memory, ...nolog }, ...SECRETS },
      kvNamespaces: ["EDGECACHE_KV"],
    };
  }
  if (kind === "compile") {
    // match.mjs plus edgecache's Wasm, compiled at load and never instantiated.
    const w = (f) => path.join(ROOT, "benches/workers", f);
    return {
      ...common,
      modules: [
        { type: "ESModule", path: w("compile.mjs") },
        { type: "ESModule", path: w("match.mjs") },
        { type: "CompiledWasm", path: w("edgecache.wasm"), contents: readFileSync(path.join(ROOT, "build/index_bg.wasm")) },
      ],
      bindings: { ORIGIN: origin },
    };
  }
  return {
    ...common,
    scriptPath: path.join(ROOT, `benches/workers/${kind}.mjs`),
    bindings: { ORIGIN: origin },
  };
}

async function start(kind, origin) {
  const before = children();
  const mf = new Miniflare(options(kind, origin));
  const url = await mf.ready;
  // Its workerd process(es), for CPU time per request.
  const pids = [...children()].filter((p) => !before.has(p));
  return { kind, mf, base: url.origin, pids };
}

/** CPU time (ms) a contender's workerd has used so far. */
const cpuOf = (c) => c.pids.reduce((a, p) => a + cpuMs(p), 0);

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** Runs up to PER_ROUND requests (or ROUND_MS) at CONCURRENCY; `next()` gives targets. */
async function round(base, next) {
  const lat = [];
  const t0 = performance.now();
  let sent = 0;
  let bad = 0;
  async function lane() {
    while (sent < PER_ROUND && performance.now() - t0 < ROUND_MS) {
      sent++;
      const r = await timedGet(agent, base, next());
      if (r.status !== 200) bad++;
      lat.push(r.ms);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const secs = (performance.now() - t0) / 1000;
  return { lat, rps: lat.length / secs, bad };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** PACED_RATE requests/s for PACED_MS on a fixed schedule (open loop). */
async function pacedRound(base, next) {
  const lat = [];
  let bad = 0;
  const n = Math.floor((PACED_RATE * PACED_MS) / 1000);
  const t0 = performance.now();
  const inFlight = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / PACED_RATE - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(
      timedGet(agent, base, next()).then((r) => {
        if (r.status !== 200) bad++;
        lat.push(r.ms);
      }),
    );
  }
  await Promise.all(inFlight);
  return { lat, rps: lat.length / ((performance.now() - t0) / 1000), bad };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function summary(rounds) {
  const lat = rounds.flatMap((r) => r.lat).sort((a, b) => a - b);
  return {
    requests: lat.length,
    non_200: rounds.reduce((n, r) => n + r.bad, 0),
    rps_median: median(rounds.map((r) => r.rps)),
    rps_rounds: rounds.map((r) => Math.round(r.rps)),
    p50_ms: pct(lat, 50),
    p99_ms: pct(lat, 99),
    // workerd CPU (user + system) per request, median round: what Workers bill.
    cpu_us_median: median(rounds.map((r) => r.cpu_us)),
    cpu_us_rounds: rounds.map((r) => Math.round(r.cpu_us)),
  };
}

/**
 * Rounds of every contender in turn, the order rotating each round (with two:
 * alternating), all drawing targets from `next`.
 */
async function interleave(contenders, next, run = round) {
  const rounds = contenders.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < contenders.length; j++) {
      const k = (i + j) % contenders.length;
      const c0 = cpuOf(contenders[k]);
      const r = await run(contenders[k].base, next);
      r.cpu_us = ((cpuOf(contenders[k]) - c0) * 1000) / Math.max(1, r.lat.length);
      rounds[k].push(r);
    }
  }
  return Object.fromEntries(contenders.map((c, k) => [c.kind, summary(rounds[k])]));
}

async function coldStart(kind, origin) {
  const t0 = performance.now();
  const mf = new Miniflare(options(kind, origin));
  const url = await mf.ready;
  const t1 = performance.now();
  const r = await timedGet(agent, url.origin, "/api/courses/1/");
  const t2 = performance.now();
  await mf.dispose();
  if (r.status !== 200) throw new Error(`${kind} cold start answered ${r.status}`);
  return { ready_ms: t1 - t0, first_response_ms: t2 - t1, total_ms: t2 - t0 };
}

const origin = await startOrigin();
const out = { concurrency: CONCURRENCY, rounds: ROUNDS, per_round: PER_ROUND, round_ms: ROUND_MS };
try {
  const ec = await start("edgecache", origin.url);
  const ecNoMem = await start("edgecache-nomem", origin.url);
  const ecNoLog = await start("edgecache-nolog", origin.url);
  const match = await start("match", origin.url);
  const proxy = await start("proxy", origin.url);
  const store = await start("store", origin.url);

  // Hit path: warm the caches, check that edgecache now hits (from memory, and
  // from the Cache API with the tier off), then measure.
  const hot = Array.from({ length: HOT_URLS }, (_, i) => `/api/courses/${i + 1}/`);
  for (const w of [ec, ecNoMem, ecNoLog, match]) for (const u of hot) await timedGet(agent, w.base, u);
  for (const [w, want] of [[ec, /;\s*hit.*detail=memory/], [ecNoMem, /;\s*hit(?!.*detail=memory)/]]) {
    const probe = await timedGet(agent, w.base, hot[0]);
    if (!want.test(String(probe.headers["cache-status"]))) {
      throw new Error(`${w.kind} did not hit as expected after warming: ${probe.headers["cache-status"]}`);
    }
  }
  let h = 0;
  const hotNext = () => hot[h++ % HOT_URLS];
  out.hit = await interleave([ec, ecNoMem, ecNoLog, match], hotNext);

  // Miss path: every request a new URL on a cacheable route (edgecache keys it,
  // misses, fetches the origin and stores; the proxy just forwards; the store
  // worker does edgecache's I/O — match, fetch, put in waitUntil — in plain JS).
  let m = 0;
  const missNext = () => `/api/courses/?search=m${m++}`;
  out.miss = await interleave([ec, proxy, store], missNext);
  // The same, below saturation: latency added per request rather than capacity.
  out.miss_paced = await interleave([ec, proxy, store], missNext, pacedRound);
  out.paced_rate = PACED_RATE;
  out.paced_ms = PACED_MS;

  await Promise.all([ec, ecNoMem, ecNoLog, match, proxy, store].map((w) => w.mf.dispose()));

  // Cold start: a fresh workerd instance each time, alternating.
  // "compile": the match worker importing edgecache's Wasm without
  // instantiating it, so ready(compile) - ready(match) is the module's compile,
  // ready(edgecache) - ready(compile) its instantiation and glue set-up.
  const cold = { edgecache: [], match: [], compile: [] };
  const kinds = Object.keys(cold);
  for (let i = 0; i < COLD_STARTS; i++) {
    for (let j = 0; j < kinds.length; j++) {
      const k = kinds[(i + j) % kinds.length];
      cold[k].push(await coldStart(k, origin.url));
    }
  }
  out.cold = Object.fromEntries(
    Object.entries(cold).map(([k, v]) => [
      k,
      {
        runs: v.length,
        ready_ms: median(v.map((x) => x.ready_ms)),
        first_response_ms: median(v.map((x) => x.first_response_ms)),
        total_ms: median(v.map((x) => x.total_ms)),
      },
    ]),
  );
} finally {
  agent.destroy();
  origin.child.kill("SIGTERM");
}
writeFileSync(outPath, JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify(out, null, 2));
