// Does the hit path pay for the fast purge path? The built worker in workerd
// (Miniflare) with the purge writer bound, twice: `purge.poll = "1s"` (on, the
// default) and `"0s"` (off); memory-tier hits over 64 hot URLs at 8 concurrent
// requests, interleaved rounds, the order alternating. Prints requests/s and
// workerd CPU per request for each, and on/off. Reports only.
//
//   node benches/fastpath.mjs [--rounds 6] [--round-ms 5000]
//   POLL=60s node benches/fastpath.mjs    (the "on" worker's poll; default 1s)
import http from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { COMPAT_DATE, ROOT, SECRETS, children, cpuMs, get, startOrigin } from "./common.mjs";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "6" }, "round-ms": { type: "string", default: "5000" } } });
const ROUNDS = Number(values.rounds);
const ROUND_MS = Number(values["round-ms"]);
const CONCURRENCY = 8;
const HOT = 64;

const origin = await startOrigin();
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

async function start(poll) {
  const before = children();
  const mf = new Miniflare({
    modules: true,
    compatibilityDate: COMPAT_DATE,
    host: "127.0.0.1",
    port: 0,
    scriptPath: path.join(ROOT, "build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    bindings: {
      EDGECACHE: {
        origin: origin.url,
        purge: { poll },
        observability: { log_sample: 0 },
        routes: [{ name: "detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"] }],
      },
      ...SECRETS,
    },
    kvNamespaces: ["EDGECACHE_KV"],
    durableObjects: { EDGECACHE_WRITER: { className: "PurgeWriter", useSQLite: true } },
  });
  const url = await mf.ready;
  const pids = [...children()].filter((p) => !before.has(p));
  return { poll, mf, base: url.origin, pids };
}

const cpuOf = (c) => c.pids.reduce((a, p) => a + cpuMs(p), 0);
let n = 0;
const next = () => `/api/courses/${n++ % HOT}/`;

async function round(c) {
  const t0 = performance.now();
  const cpu0 = cpuOf(c);
  let done = 0;
  let bad = 0;
  const lane = async () => {
    while (performance.now() - t0 < ROUND_MS) {
      const r = await get(agent, c.base, next());
      if (r.status !== 200 || !/;\s*hit/.test(r.headers["cache-status"] ?? "")) bad++;
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const secs = (performance.now() - t0) / 1000;
  return { rps: done / secs, cpu_us: ((cpuOf(c) - cpu0) * 1000) / Math.max(1, done), bad };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const on = await start(process.env.POLL ?? "1s");
const off = await start("0s");
try {
  for (const c of [on, off]) for (let i = 0; i < 3 * HOT; i++) await get(agent, c.base, next());
  const rounds = { on: [], off: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? [on, off] : [off, on];
    for (const c of order) rounds[c === on ? "on" : "off"].push(await round(c));
  }
  const s = (k) => ({
    rps: median(rounds[k].map((r) => r.rps)),
    cpu_us: median(rounds[k].map((r) => r.cpu_us)),
    not_hits: rounds[k].reduce((a, r) => a + r.bad, 0),
  });
  const [a, b] = [s("on"), s("off")];
  console.log(`fast path on  (poll ${on.poll}): ${a.rps.toFixed(0)} hits/s, ${a.cpu_us.toFixed(0)} us CPU per hit, ${a.not_hits} not hits`);
  console.log(`fast path off (poll 0s): ${b.rps.toFixed(0)} hits/s, ${b.cpu_us.toFixed(0)} us CPU per hit, ${b.not_hits} not hits`);
  console.log(`on/off: throughput ${(a.rps / b.rps).toFixed(3)}, CPU per hit ${(a.cpu_us / b.cpu_us).toFixed(3)} (median of ${ROUNDS} rounds each)`);
} finally {
  await on.mf.dispose();
  await off.mf.dispose();
  origin.child.kill();
}
