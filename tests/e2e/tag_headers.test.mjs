// End to end: the origin's tag fields (Cache-Tag, Surrogate-Key) are the
// cache's, not the client's (issue 23.4): no answer carries them unless
// `expose_tag_headers`, and purging by those tags still works.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, startOrigin, startWorker, untilHit } from "./harness.mjs";

const BASE = "https://api.example.com";
const TAGS = "user-42-orders,internal-tenant-7";
let origin, worker, exposing;

beforeAll(async () => {
  origin = await startOrigin((req) => ({
    headers: {
      "content-type": "application/json",
      "cache-control": "max-age=600",
      "cache-tag": TAGS,
      "surrogate-key": "tenant-7 orders",
    },
    body: JSON.stringify({ url: req.url, n: origin.requests.length }),
  }));
  const routes = [{ name: "api", path: "/api/*", ttl: "15m" }];
  worker = await startWorker({ origin: origin.url, routes });
  exposing = await startWorker({ origin: origin.url, routes, expose_tag_headers: true });
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  await exposing?.dispose();
  await origin?.close();
});

const get = async (w, p, init) => {
  const r = await w.fetch(`${BASE}${p}`, init);
  const cs = cacheStatus(r);
  return { r, cs, hit: cs?.params.hit === true, body: await r.text() };
};

describe("Cache-Tag and Surrogate-Key", () => {
  test("never reach a client: miss, hit, memory hit, pass-through", async () => {
    const miss = await get(worker, "/api/orders");
    const hit = await untilHit(() => get(worker, "/api/orders"));
    const memory = await get(worker, "/api/orders");
    const pass = await get(worker, "/elsewhere");
    for (const a of [miss, hit, memory, pass]) {
      expect(a.r.headers.get("cache-tag"), a.cs.raw).toBeNull();
      expect(a.r.headers.get("surrogate-key"), a.cs.raw).toBeNull();
    }
    expect(hit.hit).toBe(true);
    expect(memory.cs.params.detail).toBe("memory");
  });

  test("a purge by a tag the origin sent still reaches the entry", async () => {
    await get(worker, "/api/tagged");
    const before = await untilHit(() => get(worker, "/api/tagged"));
    expect(before.hit).toBe(true);
    const r = await purge(worker, { tags: ["internal-tenant-7"] });
    expect(r.status).toBe(200);
    await r.text();
    const after = await get(worker, "/api/tagged");
    expect(after.cs.params.fwd, after.cs.raw).toBe("miss");
  });

  test("expose_tag_headers = true passes them on", async () => {
    const miss = await get(exposing, "/api/orders");
    const hit = await untilHit(() => get(exposing, "/api/orders"));
    for (const a of [miss, hit]) {
      expect(a.r.headers.get("cache-tag"), a.cs.raw).toBe(TAGS);
      expect(a.r.headers.get("surrogate-key"), a.cs.raw).toBe("tenant-7 orders");
    }
  });
});
