// End to end: stale-while-revalidate, stale-if-error, origin timeouts and
// unreachable origins (issue: caching behaviour). TTLs are 1 s; each wait ~1.1 s.
import net from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cacheStatus, sleep, startRoutedOrigin, startWorker } from "./harness.mjs";

let origin, worker;
beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker({
    origin: origin.url,
    routes: [
      { name: "swr", path: "/swr/*", ttl: "1s", stale_while_revalidate: "30s" },
      { name: "sie", path: "/sie/*", ttl: "1s", stale_if_error: "30s", timeout: "1s" },
      { name: "plain", path: "/plain/*", ttl: "1s", timeout: "1s" },
    ],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

const BASE = "https://api.example.com";
async function get(path, w = worker) {
  const r = await w.fetch(BASE + path);
  r.bodyText = await r.text();
  return r;
}
/**
 * Answers `v<n>` where n counts this path's requests; `fail(n, res)` may answer
 * otherwise (an answer, or `null` when it handled `res` itself).
 */
function versioned(p, headers = {}, fail = () => undefined) {
  let n = 0;
  origin.on(p, (req, res) => {
    n += 1;
    const failed = fail(n, res);
    if (failed === null) return undefined;
    return failed ?? { headers: { "content-type": "text/plain", ...headers }, body: `v${n}` };
  });
}
/** Waits until the origin has seen `count` requests for `p` (background refreshes). */
async function originSaw(p, count) {
  for (let i = 0; i < 50 && origin.hits(p) < count; i++) await sleep(50);
  return origin.hits(p);
}

test("inside stale-while-revalidate a stale entry is served and refreshed in the background", async () => {
  versioned("/swr/a");
  expect((await get("/swr/a")).bodyText).toBe("v1");
  await sleep(1100);
  const stale = await get("/swr/a");
  expect(stale.bodyText).toBe("v1");
  expect(cacheStatus(stale).params.hit).toBe(true);
  expect(cacheStatus(stale).params.detail).toBe("stale_while_revalidate");
  expect(Number(cacheStatus(stale).params.ttl)).toBeLessThanOrEqual(0);
  expect(Number(stale.headers.get("age"))).toBeGreaterThanOrEqual(1);
  expect(await originSaw("/swr/a", 2)).toBe(2);
  await sleep(100); // the refreshed copy lands in the cache after the origin answered
  // The refreshed copy (a 1 s ttl on a whole-second clock may already be stale again).
  const fresh = await get("/swr/a");
  expect(fresh.bodyText).toBe("v2");
  expect(cacheStatus(fresh).params.hit).toBe(true);
});

test("concurrent stale hits start one background refresh, not one each", async () => {
  // The origin answers slowly, so all stale hits arrive while the refresh is in flight.
  let n = 0;
  origin.on("/swr/herd", async () => {
    n += 1;
    if (n > 1) await sleep(300);
    return { headers: { "content-type": "text/plain" }, body: `v${n}` };
  });
  expect((await get("/swr/herd")).bodyText).toBe("v1");
  await sleep(1100);
  const stale = await Promise.all(Array.from({ length: 6 }, () => get("/swr/herd")));
  for (const r of stale) expect(r.bodyText).toBe("v1");
  await sleep(600);
  expect(origin.hits("/swr/herd")).toBe(2);
});

test("the origin's stale-while-revalidate directive opens the window on a route without one", async () => {
  versioned("/plain/swr", { "cache-control": "max-age=1, stale-while-revalidate=30" });
  await get("/plain/swr");
  await sleep(1100);
  const stale = await get("/plain/swr");
  expect(stale.bodyText).toBe("v1");
  expect(cacheStatus(stale).params.detail).toBe("stale_while_revalidate");
  expect(await originSaw("/plain/swr", 2)).toBe(2);
});

test("past freshness without a stale window the entry is a miss", async () => {
  versioned("/plain/expired");
  await get("/plain/expired");
  await sleep(1100);
  const r = await get("/plain/expired");
  expect(r.bodyText).toBe("v2");
  expect(cacheStatus(r).params.fwd).toBe("miss");
  expect(cacheStatus(r).params.ttl).toBeDefined();
  expect(origin.hits("/plain/expired")).toBe(2);
});

test("inside stale-if-error a 5xx from the origin is answered with the stale entry", async () => {
  versioned("/sie/5xx", {}, (n) => (n > 1 ? { status: 503, body: "down" } : undefined));
  await get("/sie/5xx");
  await sleep(1100);
  const r = await get("/sie/5xx");
  expect(r.status).toBe(200);
  expect(r.bodyText).toBe("v1");
  expect(cacheStatus(r).params.fwd).toBe("stale");
  expect(cacheStatus(r).params.detail).toBe("origin_error");
  expect(origin.hits("/sie/5xx")).toBe(2);
});

test("inside stale-if-error an unreachable origin is answered with the stale entry", async () => {
  versioned("/sie/reset", {}, (n, res) => {
    if (n > 1) {
      res.socket.destroy();
      return null;
    }
  });
  await get("/sie/reset");
  await sleep(1100);
  const r = await get("/sie/reset");
  expect(r.status).toBe(200);
  expect(r.bodyText).toBe("v1");
  expect(cacheStatus(r).params.fwd).toBe("stale");
  expect(cacheStatus(r).params.detail).toBe("origin_unreachable");
});

test("inside stale-if-error an origin timeout is answered with the stale entry", async () => {
  versioned("/sie/slow", {}, (n) => (n > 1 ? sleep(2500).then(() => ({ body: "late" })) : undefined));
  await get("/sie/slow");
  await sleep(1100);
  const t0 = Date.now();
  const r = await get("/sie/slow");
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(r.bodyText).toBe("v1");
  expect(cacheStatus(r).params.fwd).toBe("stale");
  expect(cacheStatus(r).params.detail).toBe("origin_timeout");
});

test("a hanging origin answers 504 after the route timeout, and nothing is stored", async () => {
  origin.on("/plain/hang", () => sleep(2500).then(() => ({ body: "late" })));
  for (let i = 0; i < 2; i++) {
    const t0 = Date.now();
    const r = await get("/plain/hang");
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.status).toBe(504);
    expect(r.bodyText.length).toBeLessThan(100);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(cacheStatus(r).params.detail).toBe("origin_timeout");
    expect(cacheStatus(r).params.stored).toBeUndefined();
  }
  expect(origin.hits("/plain/hang")).toBe(2);
});

test("an unreachable origin answers 502, and nothing is stored", async () => {
  // A port that was just free: nothing listens on it.
  const closed = await new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const w = await startWorker({
    origin: `http://127.0.0.1:${closed}`,
    routes: [{ name: "api", path: "/api/*", ttl: "15m" }],
  });
  try {
    for (let i = 0; i < 2; i++) {
      const r = await get("/api/x", w);
      expect(r.status).toBe(502);
      expect(r.bodyText.length).toBeLessThan(100);
      expect(cacheStatus(r).params.fwd).toBe("miss");
      expect(cacheStatus(r).params.detail).toBe("origin_unreachable");
      expect(cacheStatus(r).params.stored).toBeUndefined();
    }
  } finally {
    await w.dispose();
  }
});
