// Does the hit path pay for the fast purge path? The built worker in workerd
// (Miniflare) with the purge writer bound, three times: `purge.poll = "1s"`
// (on, the default), `"60s"` (on, reading the log once a minute: what every
// hit pays, without the reads) and `"0s"` (off); memory-tier hits over 64 hot
// URLs at 8 concurrent requests, interleaved rounds, the order rotating.
// The writer lives in a workerd process of its own (reached through
// Miniflare's dev registry, as another location's object would be), so the
// CPU counted per hit is the worker's process: the worker and its local
// Cache API, not the Durable Object's work answering the reads. Prints
// requests/s and workerd CPU per hit for each, and the ratios to off.
// Reports only.
//
//   node benches/fastpath.mjs [--rounds 6] [--round-ms 5000]
//   POLL=500ms node benches/fastpath.mjs    (the "on" worker's poll; default 1s)
import http from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { COMPAT_DATE, ROOT, SECRETS, children, cpuMs, get, startOrigin } from "./common.mjs";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "6" }, "round-ms": { type: "string", default: "5000" } } });
const ROUNDS = Number(values.rounds);
const ROUND_MS = Number(values["round-ms"]);
const CONCURRENCY = 8;
const HOT = 64;

const origin = await startOrigin();
// A fresh keep-alive pool per round: a worker idles while the others run, long
// enough for workerd to close idle connections.
let agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

const registry = mkdtempSync(path.join(os.tmpdir(), "edgecache-bench-registry-"));
const WRITER_HOST = "edgecache-bench-writer";
// The writer's own process: the same bundle, hosting `PurgeWriter`.
const host = new Miniflare({
  name: WRITER_HOST,
  unsafeDevRegistryPath: registry,
  modules: true,
  compatibilityDate: COMPAT_DATE,
  scriptPath: path.join(ROOT, "build/index.js"),
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  bindings: { EDGECACHE: { origin: origin.url }, ...SECRETS },
  kvNamespaces: ["EDGECACHE_KV"],
  durableObjects: { EDGECACHE_WRITER: { className: "PurgeWriter", useSQLite: true } },
});
await host.ready;

let seq = 0;
async function start(poll) {
  const before = children();
  const mf = new Miniflare({
    name: `edgecache-bench-${seq++}`,
    unsafeDevRegistryPath: registry,
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
    durableObjects: { EDGECACHE_WRITER: { className: "PurgeWriter", scriptName: WRITER_HOST, useSQLite: true } },
  });
  const url = await mf.ready;
  const pids = [...children()].filter((p) => !before.has(p));
  return { poll, mf, base: url.origin, pids };
}

const cpuOf = (c) => c.pids.reduce((a, p) => a + cpuMs(p), 0);
let n = 0;
const next = () => `/api/courses/${n++ % HOT}/`;

async function round(c) {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
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
const workers = [await start(process.env.POLL ?? "1s"), await start("60s"), await start("0s")];
const [on, slow, off] = workers;
try {
  for (const c of workers) for (let i = 0; i < 3 * HOT; i++) await get(agent, c.base, next());
  const rounds = new Map(workers.map((c) => [c, []]));
  for (let i = 0; i < ROUNDS; i++) {
    const order = workers.map((_, j) => workers[(i + j) % workers.length]);
    for (const c of order) rounds.get(c).push(await round(c));
  }
  const s = (c) => ({
    rps: median(rounds.get(c).map((r) => r.rps)),
    cpu_us: median(rounds.get(c).map((r) => r.cpu_us)),
    not_hits: rounds.get(c).reduce((a, r) => a + r.bad, 0),
  });
  const b = s(off);
  for (const c of workers) {
    const a = s(c);
    const ratios = c === off ? "" : `; vs off: throughput ${(a.rps / b.rps).toFixed(3)}, CPU per hit ${(a.cpu_us / b.cpu_us).toFixed(3)}`;
    console.log(`poll ${c.poll.padEnd(5)}: ${a.rps.toFixed(0)} hits/s, ${a.cpu_us.toFixed(0)} us CPU per hit, ${a.not_hits} not hits${ratios}`);
  }
  console.log(`(median of ${ROUNDS} rounds of ${ROUND_MS} ms each; the writer's process not counted)`);
} finally {
  for (const c of workers) await c.mf.dispose();
  await host.dispose();
  rmSync(registry, { recursive: true, force: true });
  origin.child.kill();
}
