// Origin requests caused by purges under load: R concurrent readers over K hot
// list URLs (one tag), a signed purge of that tag every second. Counts the
// origin requests per purge against the ideal of K (one per key per isolate:
// one worker instance here). Loopback only; bounded in time; stops by itself.
//
//   node tests/load/purge-stampede.mjs [--seconds 10] [--readers 50] [--keys 5] [--origin-ms 50] [--json FILE]
//
// Prints: reads, purges, origin requests, requests per purge, ratio to the ideal
// (and writes them to FILE as JSON for `make bench`).
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { purge, sleep, startOrigin, startWorker } from "../e2e/harness.mjs";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    readers: { type: "string", default: "50" },
    keys: { type: "string", default: "5" },
    "origin-ms": { type: "string", default: "50" },
    json: { type: "string" },
  },
});
const SECONDS = Math.min(Number(values.seconds), 60);
const READERS = Math.min(Number(values.readers), 200);
const KEYS = Math.min(Number(values.keys), 100);
const ORIGIN_MS = Math.min(Number(values["origin-ms"]), 2000);

let version = 1;
let originRequests = 0;
const origin = await startOrigin(async (req) => {
  originRequests++;
  const v = version;
  await sleep(ORIGIN_MS);
  return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ v, url: req.url }) };
});
// The shipped purge defaults (memo, 2 s clock skew).
const config = {
  origin: origin.url,
  routes: [{ name: "list", path: "/api/courses/", ttl: "15m", tags: ["course_list"], query: { allow: ["page"] } }],
};
const worker = await startWorker(config, { quiet: true });
const url = (k) => `https://api.example.com/api/courses/?page=${k + 1}`;

// Warm every key, then count from the first purge on.
for (let k = 0; k < KEYS; k++) await (await worker.fetch(url(k))).text();
await sleep(500);
originRequests = 0;
const stats = { reads: 0, hits: 0, purges: 0, errors: 0 };
const deadline = Date.now() + SECONDS * 1000;

async function reader() {
  while (Date.now() < deadline) {
    const r = await worker.fetch(url(Math.floor(Math.random() * KEYS)));
    await r.text();
    stats.reads++;
    if ((r.headers.get("cache-status") ?? "").includes("hit")) stats.hits++;
  }
}
async function purger() {
  while (Date.now() < deadline) {
    version++;
    const r = await purge(worker, { tags: ["course_list"] });
    await r.text();
    if (r.status === 200) stats.purges++;
    else stats.errors++;
    await sleep(1000);
  }
}
await Promise.all([purger(), ...Array.from({ length: READERS }, reader)]);
await worker.dispose();
await origin.close();
const perPurge = originRequests / Math.max(stats.purges, 1);
console.log(
  `purge stampede: ${SECONDS}s, ${READERS} readers, ${KEYS} keys, origin ${ORIGIN_MS} ms, a purge every 1 s`,
);
console.log(
  `reads=${stats.reads} hits=${stats.hits} purges=${stats.purges} origin_requests=${originRequests} ` +
    `per_purge=${perPurge.toFixed(1)} ideal=${KEYS} ratio=${(perPurge / KEYS).toFixed(2)} errors=${stats.errors}`,
);
if (values.json) {
  const result = { seconds: SECONDS, readers: READERS, keys: KEYS, ...stats, origin_requests: originRequests };
  writeFileSync(values.json, JSON.stringify({ ...result, per_purge: perPurge, ratio: perPurge / KEYS }) + "\n");
}
