// End to end: the fast path (docs/purge.md, "The fast path"). Three data
// centres (Miniflare instances sharing KV and the purge writer, each with its
// own cache), at production's latencies: KV propagation 60 s, and a round
// trip to the writer of 0, 80 and 250 ms. A purge received by the first is
// seen by the other two within the receipt's fast bound while KV there still
// shows the old value; and a data centre that cannot reach the writer says so
// and serves under the KV bound only, backing off instead of sending every
// request to the writer.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, sleep, startOrigin, startWorker, tempDir, untilHit } from "./harness.mjs";

const KV_MS = 60_000;
let origin, kvDir;
const dcs = [];
let version = 1;
const config = () => ({
  origin: origin.url,
  // Production's KV propagation; the fast path polls every second (the default).
  purge: { kv_propagation: "60s", poll: "1s" },
  routes: [{ name: "course-detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"] }],
});

beforeAll(async () => {
  origin = await startOrigin(async (req) => ({
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ v: version, url: req.url }),
  }));
  kvDir = tempDir("edgecache-kv-");
  for (const rtt of [0, 80, 250]) {
    dcs.push(await startWorker(config(), { kvPersist: kvDir.dir, kvDelayMs: KV_MS, writerRttMs: rtt }));
  }
});
afterAll(async () => {
  for (const dc of dcs) await dc.dispose();
  await origin?.close();
  kvDir?.remove();
});

const get = async (dc, path) => {
  const r = await dc.fetch(`https://api.example.com${path}`);
  const status = cacheStatus(r);
  return { status, hit: status?.params.hit === true, body: JSON.parse(await r.text()) };
};
const warm = async (path, where = dcs) => {
  for (const dc of where) {
    await get(dc, path);
    expect((await untilHit(() => get(dc, path))).hit, `${path} warm in ${dc.location}`).toBe(true);
  }
};

describe("the fast path", () => {
  test("a purge is seen in every data centre within the fast bound while KV is still behind", async () => {
    // A fourth data centre with the fast path off: KV alone.
    const kvOnly = await startWorker({ ...config(), purge: { kv_propagation: "60s", poll: "0s" } }, { kvPersist: kvDir.dir, kvDelayMs: KV_MS, writerRttMs: 80 });
    try {
      await warm("/api/courses/1/", [...dcs, kvOnly]);
      // Every location has read KV's "never purged" for the name (cached 60 s).
      version++;
      const r = await purge(dcs[0], { tags: ["course:1"] });
      const receipt = await r.json();
      const answered = Date.now();
      expect(r.status, JSON.stringify(receipt)).toBe(200);
      expect(receipt.bounds).toEqual({ fast_ms: 4000, backstop_seconds: 70, applies: "fast" });
      expect(receipt.staleness_bound_seconds).toBe(4);
      const until = answered + receipt.bounds.fast_ms;
      const seenAfter = [];
      for (const dc of dcs) {
        let got;
        do {
          got = await get(dc, "/api/courses/1/");
          if (got.body.v !== version) await sleep(20);
        } while (got.body.v !== version && Date.now() < until);
        expect(got.body.v, `${dc.location} within the fast bound`).toBe(version);
        expect(got.status.params.detail).toBe("purged");
        seenAfter.push(Date.now() - answered);
      }
      console.log(`fast path: new body everywhere ${seenAfter.join(" / ")} ms after the 200 (bound ${receipt.bounds.fast_ms} ms)`);
      // KV is still behind: past the fast bound, the data centre without the
      // fast path still serves the old body (its KV read is cached 60 s).
      while (Date.now() < until) await sleep(50);
      const old = await get(kvOnly, "/api/courses/1/");
      expect(old.body.v).toBe(version - 1);
      expect(old.hit).toBe(true);
    } finally {
      await kvOnly.dispose();
    }
  });

  test("each data centre reads the writer about once per poll, shared by its isolates", async () => {
    const before = dcs.map((dc) => dc.writerRequests());
    const started = Date.now();
    // Read load for 3 s in every location.
    while (Date.now() - started < 3000) {
      await Promise.all(dcs.map((dc) => get(dc, "/api/courses/1/")));
    }
    const secs = (Date.now() - started) / 1000;
    const perSec = dcs.map((dc, i) => (dc.writerRequests() - before[i]) / secs);
    console.log(`writer log reads per location per second: ${perSec.map((x) => x.toFixed(2)).join(" / ")}`);
    for (const rate of perSec) {
      expect(rate).toBeGreaterThan(0.3);
      expect(rate).toBeLessThanOrEqual(1.5);
    }
  });

  test("a data centre that cannot reach the writer says so, serves under the KV bound and backs off", async () => {
    const dc = dcs[2];
    await warm("/api/courses/2/");
    dc.setWriter({ down: "error" });
    try {
      // Past the view's limit (poll + read timeout) the next hits say why they
      // may be as old as the KV bound.
      await sleep(2200);
      const statuses = [];
      const before = dc.writerRequests();
      const started = Date.now();
      while (Date.now() - started < 3000) {
        statuses.push((await get(dc, "/api/courses/2/")).status);
        await sleep(10);
      }
      const details = statuses.map((s) => s.params.detail);
      expect(details.filter((d) => d === "fast_path_unreachable").length).toBeGreaterThan(statuses.length / 2);
      // Backing off: a few attempts in 3 s (1 s, then 2 s), not one per request.
      const attempts = dc.writerRequests() - before;
      expect(attempts, `${statuses.length} requests`).toBeLessThanOrEqual(3);
      // A purge received elsewhere still reaches it through KV (the backstop)
      // and through the memo once the writer answers again; nothing is lost.
      version++;
      const r = await purge(dcs[0], { tags: ["course:2"] });
      expect(r.status).toBe(200);
      dc.setWriter({ down: false });
      const answered = Date.now();
      for (;;) {
        const got = await get(dc, "/api/courses/2/");
        if (got.body.v === version) break;
        // Back-off (at most 30 s plus jitter) + a read.
        expect(Date.now() - answered).toBeLessThan(40_000);
        await sleep(50);
      }
    } finally {
      dc.setWriter({ down: false });
    }
  }, 60_000);
});
