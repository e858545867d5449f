// The fast path under load (docs/purge.md, "The fast path"): three data
// centres (Miniflare instances sharing KV and the purge writer, each with its
// own cache) at production's latencies — KV propagation 60 s, a round trip to
// the writer of 0, 80 and 250 ms — readers in every location, and a purge of a
// different item every `--every` ms sent to the locations in turn.
// Run once with the fast path (`purge.poll`, default 1 s) and once KV-only
// (`poll = "0s"`). Loopback only; bounded in time; stops by itself.
//
//   node tests/load/purge-fast.mjs [--purges 100] [--every 200] [--readers 4]
//        [--poll 1s] [--mode fast|kv|both] [--kv-delay 60000]
//
// Prints, per mode: the time from each webhook's 200 to the last location no
// longer serving the old body (p50, p99, max), purges lost (a location still
// serving the old body at the end), reads beyond the receipt's stated bound
// (a read started after 200 + bound that returned the old body), the writer's
// log reads per location per second, KV writes per purge, and the bound.
// Exit code 1 unless 0 lost and 0 beyond the bound.
import { parseArgs } from "node:util";
import { purge, sleep, startOrigin, startWorker, tempDir } from "../e2e/harness.mjs";

const { values } = parseArgs({
  options: {
    purges: { type: "string", default: "100" },
    every: { type: "string", default: "200" },
    readers: { type: "string", default: "4" },
    poll: { type: "string", default: "1s" },
    mode: { type: "string", default: "both" },
    "kv-delay": { type: "string", default: "60000" },
    "claim-bound-ms": { type: "string" },
  },
});
const PURGES = Math.min(Number(values.purges), 1000);
const EVERY_MS = Number(values.every);
const READERS = Math.min(Number(values.readers), 16);
const KV_DELAY_MS = Number(values["kv-delay"]);
const RTTS = [0, 80, 250];

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function run(mode) {
  const versions = new Array(PURGES).fill(1);
  const origin = await startOrigin((req) => {
    const m = req.url.match(/^\/items\/(\d+)$/);
    if (!m) return { status: 404, body: "{}" };
    const i = Number(m[1]);
    return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ i, v: versions[i] }) };
  });
  const poll = mode === "fast" ? values.poll : "0s";
  const config = {
    origin: origin.url,
    purge: { kv_propagation: `${Math.max(1, Math.ceil(KV_DELAY_MS / 1000))}s`, poll },
    routes: [{ name: "item", path: "/items/:id(int)", ttl: "15m", tags: ["item:{id}"] }],
  };
  const kv = tempDir("edgecache-fast-kv-");
  const dcs = [];
  for (const rtt of RTTS) dcs.push(await startWorker(config, { kvPersist: kv.dir, kvDelayMs: KV_DELAY_MS, writerRttMs: rtt, quiet: true }));
  const central = dcs[0].kvStats;
  const get = async (dc, i) => {
    const r = await dc.fetch(`https://api.example.com/items/${i}`);
    return JSON.parse(await r.text());
  };
  // Warm every item everywhere (each location then holds KV's "never purged").
  for (const dc of dcs) for (let i = 0; i < PURGES; i++) await get(dc, i);
  const writesBefore = central.writes;
  const readsBefore = dcs.map((dc) => dc.writerRequests());

  // purge i: {at (the 200), v, bound ms}; open[L]: purges not yet seen fresh in L.
  const purged = new Array(PURGES).fill(null);
  const open = dcs.map(() => new Set());
  const lastOld = dcs.map(() => new Map()); // item -> end of the last old read
  const stats = { reads: 0, stale: 0, errors: 0, sent: 0, ok: 0 };
  let stop = false;
  const started = Date.now();

  const reader = async (L) => {
    const dc = dcs[L];
    while (!stop) {
      const o = [...open[L]];
      const i = o.length > 0 && Math.random() < 0.8 ? o[Math.floor(Math.random() * o.length)] : Math.floor(Math.random() * PURGES);
      const t0 = Date.now();
      let body;
      try {
        body = await get(dc, i);
      } catch {
        stats.errors += 1;
        continue;
      }
      const t1 = Date.now();
      stats.reads += 1;
      const p = purged[i];
      if (!p || t0 < p.at) continue;
      if (body.v < p.v) {
        lastOld[L].set(i, t1);
        if (t0 > p.at + p.boundMs) stats.stale += 1;
      } else open[L].delete(i);
    }
  };
  const readers = [];
  for (let L = 0; L < dcs.length; L++) for (let r = 0; r < READERS; r++) readers.push(reader(L));

  let boundMs = null;
  for (let i = 0; i < PURGES; i++) {
    const next = started + i * EVERY_MS;
    if (next > Date.now()) await sleep(next - Date.now());
    versions[i] += 1;
    stats.sent += 1;
    const r = await purge(dcs[i % dcs.length], { tags: [`item:${i}`] });
    const receipt = await r.json().catch(() => ({}));
    const at = Date.now();
    if (r.status !== 200) continue;
    stats.ok += 1;
    boundMs = values["claim-bound-ms"] !== undefined ? Number(values["claim-bound-ms"]) : receipt.staleness_bound_seconds * 1000;
    purged[i] = { at, v: versions[i], boundMs };
    for (const s of open) s.add(i);
  }
  const lastPurge = Date.now();
  // Until every location has seen every purge, or the bound (plus a margin) has passed.
  while (open.some((s) => s.size > 0) && Date.now() < lastPurge + boundMs + 5000) await sleep(100);
  stop = true;
  await Promise.all(readers);
  const secs = (Date.now() - started) / 1000;

  // Lost: a purge answered 200 whose item still reads old somewhere now.
  let lost = 0;
  for (let i = 0; i < PURGES; i++) {
    if (!purged[i]) continue;
    for (const dc of dcs) if ((await get(dc, i)).v < purged[i].v) lost += 1;
  }
  const latencies = [];
  for (let i = 0; i < PURGES; i++) {
    if (!purged[i]) continue;
    const last = Math.max(purged[i].at, ...lastOld.map((m) => m.get(i) ?? 0));
    latencies.push(last - purged[i].at);
  }
  latencies.sort((a, b) => a - b);
  const perLoc = dcs.map((dc, k) => ((dc.writerRequests() - readsBefore[k]) / secs).toFixed(2));
  const kvPerPurge = ((central.writes - writesBefore) / Math.max(1, stats.ok)).toFixed(2);
  const label = mode === "fast" ? `fast path (poll ${poll})` : "KV only (poll 0s)";
  console.log(`${label}: ${stats.ok} purges, ${READERS} readers in each of ${dcs.length} data centres (writer round trip ${RTTS.join("/")} ms), KV propagation ${KV_DELAY_MS} ms`);
  console.log(
    `  200 -> last location fresh: p50=${pct(latencies, 50)} ms p99=${pct(latencies, 99)} ms max=${latencies.at(-1)} ms` +
      ` | lost=${lost} beyond_bound=${stats.stale} bound=${boundMs} ms reads=${stats.reads} errors=${stats.errors}` +
      ` | writer log reads/location/s=${perLoc.join("/")} | kv_writes/purge=${kvPerPurge}`,
  );
  for (const dc of dcs) await dc.dispose();
  await origin.close();
  kv.remove();
  return lost === 0 && stats.stale === 0;
}

let ok = true;
if (values.mode !== "kv") ok = (await run("fast")) && ok;
if (values.mode !== "fast") ok = (await run("kv")) && ok;
process.exit(ok ? 0 : 1);
