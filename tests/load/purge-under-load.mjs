// Purge under load: concurrent readers over many keys on two worker instances
// sharing KV (two data centres; KV as production has it, tests/e2e/kv/), a
// writer changing origin data and sending signed purges. Counts reads that return data older than a purge receipt plus
// the documented staleness bound. Loopback only; bounded in time and count;
// stops by itself.
//
//   node tests/load/purge-under-load.mjs [--seconds 20] [--readers 8] [--items 50]
//
// Prints: reads, purges, stale reads, errors. Exit code 1 if any stale read or error.
import { parseArgs } from "node:util";
import { purge, sleep, startOrigin, startWorker, tempDir } from "../e2e/harness.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    readers: { type: "string", default: "8" },
    items: { type: "string", default: "50" },
    memo: { type: "string", default: "1" },
    delay: { type: "string", default: "1000" },
  },
});
const SECONDS = Math.min(Number(values.seconds), 120);
const READERS = Math.min(Number(values.readers), 32);
const ITEMS = Math.min(Number(values.items), 1000);
const MEMO = Number(values.memo);
const DELAY_MS = Number(values.delay);
const MAX_REQUESTS = 200_000;

// Origin: item i has a version; the list embeds every item's version.
const versions = new Array(ITEMS).fill(1);
const origin = await startOrigin((req) => {
  const m = req.url.match(/^\/api\/items\/(\d+)\/$/);
  const body = m ? { id: Number(m[1]), v: versions[Number(m[1])] } : { error: "not found" };
  return { status: m ? 200 : 404, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
});
const kv = tempDir("edgecache-load-kv-");
const config = {
  origin: origin.url,
  purge: { generation_memo: `${MEMO}s`, kv_propagation: `${Math.max(1, Math.ceil(DELAY_MS / 1000))}s` },
  routes: [{ name: "item", path: "/api/items/:id/", ttl: "1h", tags: ["item:{id}"] }],
};
const opts = { kvPersist: kv.dir, kvDelayMs: DELAY_MS, quiet: true };
const dcs = [await startWorker(config, opts), await startWorker(config, opts)];

// For each item: [purge receipt time (ms), version that purge made current].
const purged = Array.from({ length: ITEMS }, () => []);
let bound = null;
const stats = { reads: 0, purges: 0, stale: 0, errors: 0, hits: 0 };
const deadline = Date.now() + SECONDS * 1000;
let requests = 0;
const examples = [];

async function reader(n) {
  while (Date.now() < deadline && requests < MAX_REQUESTS) {
    requests++;
    const id = Math.floor(Math.random() * ITEMS);
    const dc = dcs[(n + requests) % dcs.length];
    const started = Date.now();
    try {
      const r = await dc.fetch(`https://api.example.com/api/items/${id}/`);
      const body = await r.json();
      stats.reads++;
      if ((r.headers.get("cache-status") ?? "").includes("hit")) stats.hits++;
      // The newest purge whose bound had passed before this read started: the read
      // must show at least the version that purge made current.
      if (bound !== null) {
        const due = purged[id].filter(([at]) => at + bound * 1000 <= started).pop();
        if (due && body.v < due[1]) {
          stats.stale++;
          if (examples.length < 5) examples.push({ id, got: body.v, want: due[1], dc: dcs.indexOf(dc) });
        }
      }
    } catch (e) {
      stats.errors++;
    }
  }
}

async function writer() {
  while (Date.now() < deadline - 500) {
    const id = Math.floor(Math.random() * ITEMS);
    versions[id]++;
    const dc = dcs[stats.purges % dcs.length];
    const r = await purge(dc, { tags: [`item:${id}`] });
    const receipt = await r.json();
    if (r.status !== 200) {
      stats.errors++;
    } else {
      bound = receipt.staleness_bound_seconds;
      purged[id].push([Date.now(), versions[id]]);
      stats.purges++;
    }
    await sleep(50);
  }
}

await Promise.all([writer(), ...Array.from({ length: READERS }, (_, i) => reader(i))]);
for (const dc of dcs) await dc.dispose();
await origin.close();
kv.remove();

console.log(`purge under load: ${SECONDS}s, ${READERS} readers, ${ITEMS} items, 2 instances, memo ${MEMO}s, KV propagation ${DELAY_MS} ms`);
console.log(`reads=${stats.reads} hits=${stats.hits} purges=${stats.purges} stale_reads=${stats.stale} errors=${stats.errors} bound=${bound}s`);
if (examples.length) console.log("stale examples:", JSON.stringify(examples));
process.exit(stats.stale || stats.errors ? 1 : 0);
