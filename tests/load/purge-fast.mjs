// The fast path under load (docs/purge.md, "The fast path"): three data
// centres (Miniflare instances sharing KV and the purge writer, each with its
// own cache) at production's latencies — KV propagation 60 s, a round trip to
// the writer of 0, 80 and 250 ms — readers in every location, and a purge of a
// different item every `--every` ms sent to the locations in turn.
// Run with the fast path (`purge.poll`, default 1 s), with the fast path and
// the zone purge layer (`purge.zone_id` + `EDGECACHE_ZONE_TOKEN`, `api_base`
// at the zone purge API stand-in, tests/e2e/zone_api.mjs: the plan's limits,
// `--zone-delay` ms before it deletes the tagged Cache API entries in every
// location), and KV-only (`poll = "0s"`). Loopback only; bounded in time;
// stops by itself.
//
//   node tests/load/purge-fast.mjs [--purges 100] [--every 200] [--readers 4]
//        [--poll 1s] [--mode fast|zone|kv|both|all] [--kv-delay 60000]
//        [--zone-plan business] [--zone-delay 150]
//
// `both` is fast and kv; `all` (the default) is fast, zone and kv.
// Prints, per mode: the time from each webhook's 200 to the last location no
// longer serving the old body (p50, p99, max), purges lost (a location still
// serving the old body at the end), reads beyond the receipt's stated bound
// (a read started after 200 + bound that returned the old body), the writer's
// log reads per location per second, KV writes per purge, and the bound; with
// the zone layer, the API calls made, accepted and refused (429) and the
// entries the stand-in deleted.
// Exit code 1 unless 0 lost and 0 beyond the bound.
import { parseArgs } from "node:util";
import { purge, sleep, startOrigin, startWorker, tempDir } from "../e2e/harness.mjs";
import { startZoneApi } from "../e2e/zone_api.mjs";

const { values } = parseArgs({
  options: {
    purges: { type: "string", default: "100" },
    every: { type: "string", default: "200" },
    readers: { type: "string", default: "4" },
    poll: { type: "string", default: "1s" },
    mode: { type: "string", default: "all" },
    "zone-plan": { type: "string", default: "business" },
    "zone-delay": { type: "string", default: "150" },
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
  const poll = mode === "kv" ? "0s" : values.poll;
  const zone = mode === "zone" ? await startZoneApi({ plan: values["zone-plan"], delayMs: Number(values["zone-delay"]) }) : null;
  const zoneFields = zone ? { zone_id: zone.zone, api_base: zone.apiBase, zone_plan: zone.plan } : {};
  const config = {
    origin: origin.url,
    purge: { kv_propagation: `${Math.max(1, Math.ceil(KV_DELAY_MS / 1000))}s`, poll, ...zoneFields },
    routes: [{ name: "item", path: "/items/:id(int)", ttl: "15m", tags: ["item:{id}"] }],
  };
  const kv = tempDir("edgecache-fast-kv-");
  const dcs = [];
  const bindings = zone ? { EDGECACHE_ZONE_TOKEN: zone.token } : {};
  for (const rtt of RTTS) dcs.push(await startWorker(config, { kvPersist: kv.dir, kvDelayMs: KV_DELAY_MS, writerRttMs: rtt, quiet: true, bindings }));
  if (zone) {
    for (const dc of dcs) zone.addLocation(dc);
    // The key each item is stored under (what the stand-in may delete).
    for (let i = 0; i < PURGES; i++) await zone.learn(dcs[0], `https://api.example.com/items/${i}`);
  }
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
  const label = { fast: `fast path (poll ${poll})`, zone: `fast path (poll ${poll}) + zone purge (${values["zone-plan"]} plan, stand-in delay ${values["zone-delay"]} ms)`, kv: "KV only (poll 0s)" }[mode];
  console.log(`${label}: ${stats.ok} purges, ${READERS} readers in each of ${dcs.length} data centres (writer round trip ${RTTS.join("/")} ms), KV propagation ${KV_DELAY_MS} ms`);
  console.log(
    `  200 -> last location fresh: p50=${pct(latencies, 50)} ms p99=${pct(latencies, 99)} ms max=${latencies.at(-1)} ms` +
      ` | lost=${lost} beyond_bound=${stats.stale} bound=${boundMs} ms reads=${stats.reads} errors=${stats.errors}` +
      ` | writer log reads/location/s=${perLoc.join("/")} | kv_writes/purge=${kvPerPurge}`,
  );
  if (zone) {
    await zone.settled();
    const applied = zone.calls.filter((c) => c.status === 200).map((c) => c.appliedAt - c.at).sort((a, b) => a - b);
    const s = zone.stats;
    console.log(
      `  zone API: ${zone.calls.length} calls made, ${s.accepted} accepted (${s.items} items), ${s.refused} refused (429), ${s.rejected} rejected (4xx)` +
        ` | Cache API entries deleted: ${s.deleted} | call -> deleted everywhere p50=${pct(applied, 50)} ms max=${applied.at(-1)} ms`,
    );
    await zone.close();
  }
  for (const dc of dcs) await dc.dispose();
  await origin.close();
  kv.remove();
  return lost === 0 && stats.stale === 0;
}

const MODES = { fast: ["fast"], zone: ["zone"], kv: ["kv"], both: ["fast", "kv"], all: ["fast", "zone", "kv"] }[values.mode];
if (!MODES) throw new Error(`--mode: one of fast, zone, kv, both, all (got ${values.mode})`);
let ok = true;
for (const mode of MODES) ok = (await run(mode)) && ok;
process.exit(ok ? 0 : 1);
