// Hit-path profile and quick hit-path comparison in workerd (Miniflare).
//
//   node benches/profile-hit.mjs profile [REQUESTS]   CPU profile of edgecache hits
//                                                     (KIND=match: of the JS baseline)
//   node benches/profile-hit.mjs compare [ROUNDS]     edgecache vs benches/workers/match.mjs
//   MISS=1 before either: the miss path instead (a new URL every request)
//   NOMEM=1 before either: the memory tier off (every hit through the Cache API)
//
// Both use build/index.js + build/index_bg.wasm as built, the wrangler.toml
// config (origin replaced by the bench origin), 64 hot URLs, concurrency 8.
//
// `profile` starts the worker with Miniflare's `inspectorPort`, connects over
// the Chrome DevTools Protocol (the `ws` package), samples while it drives the
// hits and prints self time by function, grouped as JS glue (build/index.js),
// wasm and runtime. For wasm function names, build without stripping first:
//   CARGO_PROFILE_RELEASE_STRIP=false bash scripts/build-worker.sh
// The raw profile goes to target/bench/hit.cpuprofile (opens in Chrome DevTools).
//
// `compare` runs interleaved rounds (the order rotating) and prints req/s per
// round. With BEFORE=DIR (a copy of an earlier build/: index.js and
// index_bg.wasm) that build runs as a third contender, "before", for A/B
// checks of a change. Reports only; asserts nothing about speed.
import http from "node:http";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { COMPAT_DATE, ROOT, SECRETS, children, cpuMs, get as timedGet, startOrigin } from "./common.mjs";
import WebSocket from "ws";

const CONCURRENCY = 8;
const HOT_URLS = 64;
const INSPECTOR_PORT = 9339;

const [mode = "profile", arg] = process.argv.slice(2);

const config = JSON.parse(
  execFileSync("python3", [
    "-c",
    'import tomllib, json; print(json.dumps(tomllib.load(open("wrangler.toml", "rb"))["vars"]["EDGECACHE"]))',
  ], { cwd: ROOT, encoding: "utf8" }),
);
if (process.env.NOMEM === "1") config.memory = { ...config.memory, max_bytes: 0 };



async function start(kind, origin, extra = {}) {
  const before = children();
  const common = { modules: true, compatibilityDate: COMPAT_DATE, host: "127.0.0.1", port: 0, ...extra };
  const opts =
    kind === "edgecache" || kind === "before"
      ? {
          ...common,
          scriptPath: kind === "before" ? path.resolve(process.env.BEFORE, "index.js") : path.join(ROOT, "build/index.js"),
          modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
          bindings: { EDGECACHE: { ...config, origin }, ...SECRETS },
          kvNamespaces: ["EDGECACHE_KV"],
          handleRuntimeStdio: (out, err) => (out.resume(), err.resume()),
        }
      : { ...common, scriptPath: path.join(ROOT, `benches/workers/${kind}.mjs`), bindings: { ORIGIN: origin } };
  const mf = new Miniflare(opts);
  const url = await mf.ready;
  const pids = [...children()].filter((p) => !before.has(p));
  return { kind, mf, base: url.origin, pids };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

const hot = Array.from({ length: HOT_URLS }, (_, i) => `/api/courses/${i + 1}/`);
let h = 0;
// MISS=1: every request a new URL on a cacheable route (the miss path; the JS
// `match` worker then does match + fetch + put, the same I/O).
const MISS = process.env.MISS === "1";
const next = MISS ? () => `/api/courses/?search=p${h++}` : () => hot[h++ % HOT_URLS];

async function drive(base, n, pids = []) {
  const c0 = pids.reduce((a, p) => a + cpuMs(p), 0);
  const t0 = performance.now();
  let sent = 0;
  let bad = 0;
  async function lane() {
    while (sent < n) {
      sent++;
      const r = await timedGet(agent, base, next());
      if (r.status !== 200) bad++;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const cpu = pids.reduce((a, p) => a + cpuMs(p), 0) - c0;
  return { rps: n / ((performance.now() - t0) / 1000), bad, cpuUs: (1000 * cpu) / n };
}

async function warm(w) {
  for (const u of hot) await timedGet(agent, w.base, u);
  if (!MISS && (w.kind === "edgecache" || w.kind === "before")) {
    const probe = await timedGet(agent, w.base, hot[0]);
    if (!/;\s*hit/.test(String(probe.headers["cache-status"]))) {
      throw new Error(`edgecache did not hit after warming: ${probe.headers["cache-status"]}`);
    }
  }
}

function cdp(url) {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map();
  ws.on("message", (m) => {
    const msg = JSON.parse(m);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result);
    }
  });
  const opened = new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  return {
    opened,
    send(method, params = {}) {
      const mid = ++id;
      ws.send(JSON.stringify({ id: mid, method, params }));
      return new Promise((resolve, reject) => pending.set(mid, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}

/** Self time (ms) per function, from samples and time deltas. */
function aggregate(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const f = n.callFrame;
    const file = f.url ? f.url.split("/").pop() : "";
    const kind = /\.wasm|wasm:\/\//.test(f.url) || /^\$?wasm-function/.test(f.functionName)
      ? "wasm"
      : file.endsWith(".js") && f.url.includes("index")
        ? "glue"
        : f.url
          ? "js:" + file
          : "runtime";
    const name = `${kind}  ${f.functionName || "(anonymous)"}${f.url && kind !== "wasm" ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  }
  return [...self.entries()].sort((a, b) => b[1] - a[1]);
}

const origin = await startOrigin();
try {
  if (mode === "profile") {
    const n = Number(arg ?? 4000);
    const ec = await start(process.env.KIND ?? "edgecache", origin.url, { inspectorPort: INSPECTOR_PORT });
    await warm(ec);
    await drive(ec.base, 500); // JIT warm-up before sampling
    const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
    const target = targets.find((t) => t.webSocketDebuggerUrl);
    const c = cdp(target.webSocketDebuggerUrl);
    await c.opened;
    await c.send("Profiler.enable");
    await c.send("Profiler.setSamplingInterval", { interval: 100 });
    await c.send("Profiler.start");
    const r = await drive(ec.base, n);
    const { profile } = await c.send("Profiler.stop");
    c.close();
    mkdirSync(path.join(ROOT, "target/bench"), { recursive: true });
    writeFileSync(path.join(ROOT, "target/bench/hit.cpuprofile"), JSON.stringify(profile));
    const rows = aggregate(profile);
    const total = rows.reduce((s, [, v]) => s + v, 0);
    const groups = new Map();
    for (const [name, v] of rows) {
      const g = name.split("  ")[0];
      groups.set(g, (groups.get(g) ?? 0) + v);
    }
    console.log(`${n} hits at ${Math.round(r.rps)} req/s while profiling (non-200: ${r.bad}); sampled ${total.toFixed(0)} ms`);
    console.log("\nby kind (self ms, % of sampled):");
    for (const [g, v] of [...groups].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${v.toFixed(1).padStart(9)}  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${g}`);
    }
    console.log("\ntop functions (self ms, % of sampled, per hit us):");
    for (const [name, v] of rows.slice(0, 40)) {
      console.log(
        `  ${v.toFixed(1).padStart(9)}  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${((1000 * v) / n).toFixed(1).padStart(7)}  ${name}`,
      );
    }
    await ec.mf.dispose();
  } else if (mode === "compare") {
    const rounds = Number(arg ?? 6);
    const ws = [await start("edgecache", origin.url), await start("match", origin.url)];
    if (process.env.BEFORE) ws.push(await start("before", origin.url));
    // EXTRA=a,b: more JS contenders from benches/workers/a.mjs, b.mjs.
    for (const k of (process.env.EXTRA ?? "").split(",").filter(Boolean)) ws.push(await start(k, origin.url));
    for (const w of ws) await warm(w);
    for (const w of ws) await drive(w.base, 1000);
    const res = Object.fromEntries(ws.map((w) => [w.kind, []]));
    const cpu = Object.fromEntries(ws.map((w) => [w.kind, []]));
    for (let i = 0; i < rounds; i++) {
      for (let j = 0; j < ws.length; j++) {
        const w = ws[(i + j) % ws.length];
        const r = await drive(w.base, 3000, w.pids);
        res[w.kind].push(r.rps);
        cpu[w.kind].push(r.cpuUs);
      }
    }
    const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    for (const [k, v] of Object.entries(res)) {
      console.log(`${k.padEnd(10)} median ${Math.round(median(v))} req/s  rounds ${v.map(Math.round).join(" ")}`);
    }
    // CPU of the worker's workerd process per request: less sensitive than req/s
    // to other load on a shared machine.
    for (const [k, v] of Object.entries(cpu)) {
      console.log(`${k.padEnd(10)} median ${Math.round(median(v))} us CPU/req (workerd)  rounds ${v.map(Math.round).join(" ")}`);
    }
    for (const k of Object.keys(res).filter((k) => k !== "match")) {
      const ratios = res[k].map((v, i) => v / res.match[i]);
      console.log(`${k}/match  median ${median(ratios).toFixed(2)}  rounds ${ratios.map((r) => r.toFixed(2)).join(" ")}`);
    }
    await Promise.all(ws.map((w) => w.mf.dispose()));
  } else {
    throw new Error(`unknown mode ${mode} (profile | compare)`);
  }
} finally {
  agent.destroy();
  origin.child.kill("SIGTERM");
}
