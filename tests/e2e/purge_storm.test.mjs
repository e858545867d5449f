// End to end: purges under production's KV limits (tests/e2e/kv/: one write
// per second per key, 1,000 operations per invocation, propagation between
// data centres). Two workers sharing a KV directory are two data centres; the
// first hosts the purge writer (a Durable Object), the second reaches it.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, sleep, startOrigin, startWorker, tempDir } from "./harness.mjs";

const DELAY_MS = 1000;
let origin, dcA, dcB, kvDir;
let version = 1;
const config = () => ({
  origin: origin.url,
  purge: { generation_memo: "1s", clock_skew: "0s", kv_propagation: "1s" },
  routes: [
    { name: "list", path: "/api/courses/", ttl: "15m", tags: ["course_list"] },
    { name: "detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"] },
    { name: "tagged", path: "/api/tagged/:n/", ttl: "15m", tags: ["t{n}"] },
  ],
});

beforeAll(async () => {
  origin = await startOrigin(() => ({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ v: version }) }));
  kvDir = tempDir("edgecache-storm-kv-");
  dcA = await startWorker(config(), { kvPersist: kvDir.dir, kvDelayMs: DELAY_MS, quiet: !process.env.LOUD });
  dcB = await startWorker(config(), { kvPersist: kvDir.dir, kvDelayMs: DELAY_MS, quiet: true });
});
afterAll(async () => {
  await dcB?.dispose();
  await dcA?.dispose();
  await origin?.close();
  kvDir?.remove();
});

const read = async (dc, path) => {
  const r = await dc.fetch(`https://api.example.com${path}`);
  return { hit: cacheStatus(r)?.params.hit === true, v: (await r.json()).v };
};
const warm = async (path) => {
  for (const dc of [dcA, dcB]) for (let i = 0; i < 3; i++) await read(dc, path);
};

describe("a burst of purges under the KV write limit", () => {
  test("50 webhooks naming one tag in a second all get 200 and all hold in the other data centre within the bound", async () => {
    await warm("/api/courses/");
    const refusedBefore = dcA.kvStats.refused;
    const answers = [];
    const sends = [];
    for (let i = 0; i < 50; i++) {
      version++;
      const v = version;
      sends.push(
        purge(dcA, { tags: ["course_list", `course:${i}`] }).then(async (r) => {
          answers.push({ status: r.status, at: Date.now(), v, receipt: await r.json() });
        }),
      );
      await sleep(20);
    }
    await Promise.all(sends);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const bound = answers[0].receipt.staleness_bound_seconds;
    // The fast path's bound, poll (1 s) + a read (1 s) + skew (0 s), applies;
    // KV's is writer (3 s) + KV propagation (1 s) + memo (1 s) + skew (0 s).
    expect(answers[0].receipt.bounds).toEqual({ fast_ms: 2000, backstop_seconds: 5, applies: "fast" });
    expect(bound).toBe(2);
    // Read the other data centre until every purge's bound has passed: each read
    // that starts after a purge's answer plus the bound shows its data or newer.
    const last = Math.max(...answers.map((a) => a.at)) + bound * 1000;
    const stale = [];
    let reads = 0;
    while (Date.now() < last + 500) {
      const started = Date.now();
      const r = await read(dcB, "/api/courses/");
      reads++;
      const due = answers.filter((a) => a.at + bound * 1000 <= started);
      const want = Math.max(0, ...due.map((a) => a.v));
      if (r.v < want) stale.push({ got: r.v, want });
      await sleep(100);
    }
    expect(reads).toBeGreaterThan(10);
    expect(stale).toEqual([]);
    expect((await read(dcB, "/api/courses/")).v).toBe(version);
    // The writer kept to the limit: KV never refused one of its writes.
    expect(dcA.kvStats.refused).toBe(refusedBefore);
  }, 30_000);
});

test("a write KV refuses (429) is retried by the writer, never lost", async () => {
  await warm("/api/courses/42/");
  version++;
  // KV refuses every write for 2.5 s (another writer's traffic, say).
  dcA.kvStats.refuseUntil = Date.now() + 2500;
  const refusedBefore = dcA.kvStats.refused;
  const r = await purge(dcA, { tags: ["course:42"] });
  expect(r.status).toBe(200);
  await r.json();
  // Refused at first...
  await sleep(1500);
  expect(dcA.kvStats.refused).toBeGreaterThan(refusedBefore);
  // ...and written once KV takes writes again: the other data centre gets it.
  let v = 0;
  for (let i = 0; i < 60 && v !== version; i++) {
    v = (await read(dcB, "/api/courses/42/")).v;
    if (v !== version) await sleep(200);
  }
  expect(v).toBe(version);
}, 30_000);

test("a purge naming 900 names keeps to 1,000 KV operations per invocation and holds for every name", async () => {
  const n = 900;
  for (const i of [0, n - 1]) await warm(`/api/tagged/${i}/`);
  const opLimitBefore = dcA.kvStats.op_limit;
  version++;
  // 450 tags (t0..t449) and 450 URLs (/api/tagged/450/ .. /api/tagged/899/)
  const tags = Array.from({ length: n / 2 }, (_, i) => `t${i}`);
  const urls = Array.from({ length: n / 2 }, (_, i) => `https://api.example.com/api/tagged/${n / 2 + i}/`);
  const r = await purge(dcB, { tags, urls });
  expect(r.status).toBe(200);
  expect((await r.json()).layers.generations.bumped).toBe(n);
  // Two flushes (500 + 400 writes), each within the limit; every name lands.
  let kvKeys = 0;
  for (let i = 0; i < 60; i++) {
    kvKeys = (await (await dcA.kvNamespace()).list({ prefix: "gen:" })).keys.length;
    const last = (await read(dcA, `/api/tagged/${n - 1}/`)).v;
    if (kvKeys >= n && last === version) break;
    await sleep(200);
  }
  expect(kvKeys).toBeGreaterThanOrEqual(n);
  expect((await read(dcA, `/api/tagged/0/`)).v).toBe(version);
  expect(dcA.kvStats.op_limit).toBe(opLimitBefore);
}, 30_000);

test("a full writer answers 503 with Retry-After, never 200, and still takes names already waiting", async () => {
  // KV refuses every write, so nothing leaves the writer: 900 names wait.
  dcA.kvStats.refuseUntil = Infinity;
  try {
    const tags = Array.from({ length: 450 }, (_, i) => `full${i}`);
    const urls = Array.from({ length: 450 }, (_, i) => `https://api.example.com/api/full/${i}/`);
    const first = await purge(dcA, { tags, urls });
    expect(first.status).toBe(200);
    await first.json();
    // 200 more would make 1,100 waiting: refused, and the sender told to retry.
    const more = await purge(dcB, { tags: Array.from({ length: 200 }, (_, i) => `more${i}`) });
    expect(more.status).toBe(503);
    expect(more.headers.get("retry-after")).toBe("1");
    expect((await more.json()).layers.generations.status).toBe("failed");
    // A name already waiting takes no new place: accepted.
    const again = await purge(dcB, { tags: ["full7"] });
    expect(again.status).toBe(200);
    await again.json();
  } finally {
    dcA.kvStats.refuseUntil = 0;
  }
}, 30_000);

test("the receiving data centre keeps a purge when its memo expires before KV there has caught up", async () => {
  // 3 s of propagation: the receiving data centre's own cached read of the tag
  // ("not found") outlives its 1 s memo of the purge it received.
  const dir = tempDir("edgecache-recv-kv-");
  const cfg = { ...config(), purge: { generation_memo: "1s", clock_skew: "0s", kv_propagation: "3s" } };
  const w = await startWorker(cfg, { kvPersist: dir.dir, kvDelayMs: 3000, quiet: true });
  try {
    for (let i = 0; i < 3; i++) await read(w, "/api/courses/7/");
    expect((await read(w, "/api/courses/7/")).hit).toBe(true);
    version++;
    const r = await purge(w, { tags: ["course:7"] });
    expect(r.status).toBe(200);
    await r.json();
    // No read until the 1 s memo of the purge has expired (a read before would
    // replace the entry): KV here still says "not found" for 2 s more, and
    // must not undo a purge this isolate received.
    await sleep(1300);
    expect((await read(w, "/api/courses/7/")).v).toBe(version);
  } finally {
    await w.dispose();
    dir.remove();
  }
}, 30_000);

test("an unreachable writer makes the webhook answer 503 with Retry-After, never 200", async () => {
  const w = await startWorker(config(), { writer: "unreachable", quiet: true });
  try {
    const r = await purge(w, { tags: ["course_list"] });
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("1");
    expect((await r.json()).layers.generations.status).toBe("failed");
  } finally {
    await w.dispose();
  }
});

describe("without the writer (no Durable Object bound)", () => {
  test("a second write of one name within a second is answered 503 with Retry-After, never 200", async () => {
    const dir = tempDir("edgecache-direct-kv-");
    const w = await startWorker(config(), { kvPersist: dir.dir, writer: false, quiet: true });
    try {
      const first = await purge(w, { tags: ["course_list"] });
      expect(first.status).toBe(200);
      expect((await first.json()).staleness_bound_seconds).toBe(2);
      const second = await purge(w, { tags: ["course_list"] });
      expect(second.status).toBe(503);
      expect(second.headers.get("retry-after")).toBe("1");
      expect((await second.json()).layers.generations.status).toBe("failed");
      expect(w.kvStats.refused).toBe(1);
    } finally {
      await w.dispose();
      dir.remove();
    }
  });
});
