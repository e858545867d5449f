// Purge storm: the Django-like burst pattern against KV as production has it
// (tests/e2e/kv/: one write per second per key, 1,000 operations per
// invocation, propagation between data centres). Two data centres (the first
// hosts the purge writer, the second reaches it); readers over many list and
// detail URLs; a writer that edits in bursts (50 edits in one second, each
// webhook naming `course_list` and the item's tag), one burst every few
// seconds. Loopback only; bounded in time; stops by itself.
//
//   node tests/load/purge-storm.mjs [--seconds 30] [--readers 8] [--items 200]
//        [--claim-bound S] [--refuse-writes-after S]   (check the checker)
//
// Prints reads, purges sent / answered 200 / lost (answered 200 but not in
// effect after the bound, checked by reading every purged URL in both data
// centres), stale reads beyond the stated bound, KV writes and 429s, and the
// bound. Exit code 1 unless 0 lost and 0 stale.
import { parseArgs } from "node:util";
import { purge, sleep, startOrigin, startWorker, tempDir } from "../e2e/harness.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "30" },
    readers: { type: "string", default: "8" },
    items: { type: "string", default: "200" },
    burst: { type: "string", default: "50" },
    delay: { type: "string", default: "1000" },
    // Checking the checker: judge reads by this bound instead of the receipt's,
    // or make KV refuse every write after this many seconds.
    "claim-bound": { type: "string" },
    "refuse-writes-after": { type: "string" },
  },
});
const SECONDS = Math.min(Number(values.seconds), 120);
const READERS = Math.min(Number(values.readers), 32);
const ITEMS = Math.min(Number(values.items), 1000);
const BURST = Math.min(Number(values.burst), 200);
const DELAY_MS = Number(values.delay);
const PAGE = 20;
const PAGES = Math.ceil(ITEMS / PAGE);
const BURST_EVERY_MS = 3000;

// Origin: item i has a version; every list page shows the list version, which
// any edit bumps (a list shows every item's title, say).
const versions = new Array(ITEMS).fill(1);
let listVersion = 1;
const origin = await startOrigin((req) => {
  const u = new URL(req.url, "http://x");
  const m = u.pathname.match(/^\/api\/courses\/(\d+)\/$/);
  let body;
  if (m) body = { id: Number(m[1]), v: versions[Number(m[1])] };
  else if (u.pathname === "/api/courses/") body = { page: Number(u.searchParams.get("page") ?? 1), v: listVersion };
  else return { status: 404, body: "{}" };
  return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
});
const config = {
  origin: origin.url,
  // KV propagation as emulated (DELAY_MS, rounded up); memo and skew as shipped.
  purge: { kv_propagation: `${Math.max(1, Math.ceil(DELAY_MS / 1000))}s`, generation_memo: "1s" },
  routes: [
    { name: "list", path: "/api/courses/", ttl: "15m", tags: ["course_list"], query: { allow: ["page"], defaults: { page: "1" } } },
    { name: "detail", path: "/api/courses/:pk(int)/", ttl: "15m", tags: ["course:{pk}"] },
  ],
};
const kv = tempDir("edgecache-storm-kv-");
const opts = { kvPersist: kv.dir, kvDelayMs: DELAY_MS, quiet: true };
const dcs = [await startWorker(config, opts), await startWorker(config, opts)];
const central = dcs[0].kvStats;
if (values["refuse-writes-after"] !== undefined) {
  setTimeout(() => (central.refuseUntil = Infinity), Number(values["refuse-writes-after"]) * 1000);
}

const listUrl = (p) => `/api/courses/?page=${p}`;
const detailUrl = (i) => `/api/courses/${i}/`;
// Per URL: [answeredAt, version] of each purge answered 200 that covers it.
const due = new Map();
const note = (url, at, v) => {
  if (!due.has(url)) due.set(url, []);
  due.get(url).push([at, v]);
};
let bound = null;
const stats = { reads: 0, hits: 0, stale: 0, errors: 0, sent: 0, ok: 0, refused: 0, retried: 0 };
const examples = [];
const okPurges = [];
const deadline = Date.now() + SECONDS * 1000;

async function reader(n) {
  let k = 0;
  while (Date.now() < deadline) {
    k++;
    const isList = Math.random() < 0.3;
    const path = isList ? listUrl(1 + Math.floor(Math.random() * PAGES)) : detailUrl(Math.floor(Math.random() * ITEMS));
    const dc = (n + k) % 2;
    const started = Date.now();
    try {
      const r = await dcs[dc].fetch(`https://api.example.com${path}`);
      const body = await r.json();
      stats.reads++;
      if ((r.headers.get("cache-status") ?? "").includes("hit")) stats.hits++;
      const key = isList ? "list" : path;
      if (bound !== null) {
        const want = Math.max(0, ...(due.get(key) ?? []).filter(([at]) => at + bound * 1000 <= started).map(([, v]) => v));
        if (body.v < want) {
          stats.stale++;
          if (examples.length < 5) examples.push({ path, dc, got: body.v, want });
        }
      }
    } catch {
      stats.errors++;
    }
  }
}

/** One edit and its webhook; retried on 503 as a Standard Webhooks sender does. */
async function edit(i, dc) {
  versions[i]++;
  listVersion++;
  const v = versions[i];
  const lv = listVersion;
  stats.sent++;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const r = await purge(dcs[dc], { tags: ["course_list", `course:${i}`] });
    const receipt = await r.json();
    if (r.status === 200) {
      const at = Date.now();
      bound = values["claim-bound"] !== undefined ? Number(values["claim-bound"]) : receipt.staleness_bound_seconds;
      stats.ok++;
      note(detailUrl(i), at, v);
      note("list", at, lv);
      okPurges.push({ i, v, lv, at });
      return;
    }
    stats.refused++;
    if (attempt < 5) {
      stats.retried++;
      await sleep(1000 * Number(r.headers.get("retry-after") ?? 1));
    }
  }
}

async function writer() {
  const sends = [];
  while (Date.now() < deadline - 2000) {
    const start = Date.now();
    for (let e = 0; e < BURST; e++) {
      // Every webhook goes to the first data centre (the origin's nearest):
      // the second sees the purges only through the writer and KV.
      sends.push(edit(Math.floor(Math.random() * ITEMS), 0));
      await sleep(1000 / BURST);
    }
    await sleep(Math.max(0, BURST_EVERY_MS - (Date.now() - start)));
  }
  await Promise.all(sends);
}

await Promise.all([writer(), ...Array.from({ length: READERS }, (_, i) => reader(i))]);

// Lost purges: after the last 200 plus the bound, every purged URL, in both
// data centres, must show at least what each of its purges made current.
const lastOk = Math.max(0, ...okPurges.map((p) => p.at));
await sleep(Math.max(0, lastOk + (bound ?? 0) * 1000 - Date.now()));
const seen = new Map();
const read = async (dc, path) => {
  const k = `${dc} ${path}`;
  if (!seen.has(k)) seen.set(k, (await (await dcs[dc].fetch(`https://api.example.com${path}`)).json()).v);
  return seen.get(k);
};
let lost = 0;
for (const p of okPurges) {
  let inEffect = true;
  for (const dc of [0, 1]) {
    if ((await read(dc, detailUrl(p.i))) < p.v) inEffect = false;
    for (let page = 1; page <= PAGES; page++) if ((await read(dc, listUrl(page))) < p.lv) inEffect = false;
  }
  if (!inEffect) lost++;
}
for (const dc of dcs) await dc.dispose();
await origin.close();
kv.remove();

console.log(
  `purge storm: ${SECONDS}s, ${READERS} readers, ${PAGES} list pages + ${ITEMS} details, 2 data centres, ` +
    `bursts of ${BURST} edits in 1 s every ${BURST_EVERY_MS / 1000} s, KV propagation ${DELAY_MS} ms`,
);
console.log(
  `reads=${stats.reads} hits=${stats.hits} purges_sent=${stats.sent} purges_200=${stats.ok} ` +
    `answers_503=${stats.refused} lost=${lost} stale_beyond_bound=${stats.stale} errors=${stats.errors} ` +
    `kv_writes=${central.writes} kv_429=${central.refused} kv_op_limit=${central.op_limit} bound=${bound}s`,
);
if (examples.length) console.log("stale examples:", JSON.stringify(examples));
process.exit(lost || stats.stale || stats.errors || stats.ok !== stats.sent ? 1 : 0);
