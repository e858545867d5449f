// End to end: what a purge does at once where it was received (issue 23.5,
// docs/purge.md "Staleness bound"). The isolate that got the webhook stops
// serving every entry the purge covers at once (its memo holds the new marks:
// header variants, per-user entries, tags); the Cache API there loses only the
// named URLs' plain entries, since variant and per-user keys cannot be listed.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, startOrigin, startWorker, untilHit } from "./harness.mjs";

const BASE = "https://api.example.com";
let origin, worker;

beforeAll(async () => {
  origin = await startOrigin((req) => ({
    headers: { "content-type": "application/json", "cache-control": "max-age=600", "cache-tag": "shelf-3" },
    body: JSON.stringify({ url: req.url, n: origin.requests.length }),
  }));
  // The default memo (5 s) and skew: what "at once" must hold against.
  worker = await startWorker({
    origin: origin.url,
    routes: [
      { name: "varied", path: "/api/varied/*", ttl: "15m", vary: ["accept"] },
      { name: "plain", path: "/api/plain/*", ttl: "15m" },
    ],
  });
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

const get = async (p, headers = { accept: "application/json" }) => {
  const r = await worker.fetch(`${BASE}${p}`, { headers });
  const cs = cacheStatus(r);
  return { cs, hit: cs?.params.hit === true, body: await r.text() };
};
const warm = async (p) => {
  await get(p);
  expect((await untilHit(() => get(p))).hit, p).toBe(true);
};
const receipt = async (payload) => {
  const r = await purge(worker, payload);
  const body = await r.json();
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body;
};

describe("where the webhook was received", () => {
  test("a URL purge on a vary route deletes nothing there, and the receiving isolate misses at once", async () => {
    await warm("/api/varied/a");
    const rec = await receipt({ urls: [`${BASE}/api/varied/a`] });
    expect(rec.layers.local_delete.deleted).toBe(0);
    const after = await get("/api/varied/a");
    expect(after.cs.params.fwd, after.cs.raw).toBe("miss");
    expect(after.cs.params.detail).toBe("purged");
  });

  test("a URL purge on a plain route deletes its entry there", async () => {
    await warm("/api/plain/b");
    const rec = await receipt({ urls: [`${BASE}/api/plain/b`] });
    expect(rec.layers.local_delete.deleted).toBe(1);
    const after = await get("/api/plain/b");
    expect(after.cs.params.fwd, after.cs.raw).toBe("miss");
  });

  test("a tag purge deletes nothing there, and the receiving isolate misses at once", async () => {
    await warm("/api/varied/c");
    await warm("/api/plain/c");
    const rec = await receipt({ tags: ["shelf-3"] });
    expect(rec.layers.local_delete.deleted).toBe(0);
    for (const p of ["/api/varied/c", "/api/plain/c"]) {
      const after = await get(p);
      expect(after.cs.params.fwd, `${p}: ${after.cs.raw}`).toBe("miss");
      expect(after.cs.params.detail).toBe("purged");
    }
  });
});
