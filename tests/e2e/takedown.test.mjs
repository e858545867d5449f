// End to end: taking a media file down (issue 23.2, docs/purge.md "Taking a
// file down"). Every spelling anyone could warm before the takedown maps to the
// one entry a URL purge names: a media route keys no query by default, and a
// path with an empty segment (`//`) is never cached at all.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, startOrigin, startWorker, untilHit } from "./harness.mjs";

const BASE = "https://media.example.com";
let origin, worker;
let removed = false;

beforeAll(async () => {
  origin = await startOrigin((req) => {
    if (removed) return { status: 404, headers: { "content-type": "text/plain" }, body: "gone" };
    return {
      headers: { "content-type": "image/png", "cache-control": "max-age=2592000" },
      body: Buffer.from(`png of ${req.url}`),
    };
  });
  worker = await startWorker({
    origin: origin.url,
    routes: [{ name: "media", path: "/media/*", kind: "media", ttl: "30d" }],
  });
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

const get = async (p) => {
  const r = await worker.fetch(`${BASE}${p}`);
  const cs = cacheStatus(r);
  return { status: r.status, cs, hit: cs?.params.hit === true, body: await r.text() };
};

describe("a takedown of /media/a.png", () => {
  test("reaches every spelling warmed before it", async () => {
    const spellings = ["/media/a.png", "/media/a.png?x=1", "/media/a.png?utm_source=x&v=2", "/media//a.png"];
    // Anyone warms them all first.
    for (const p of spellings) await get(p);
    for (const p of spellings.slice(0, 3)) {
      const hit = await untilHit(() => get(p));
      expect(hit.hit, `${p}: ${hit.cs.raw}`).toBe(true);
    }
    // One object at the origin, fetched once for every query spelling.
    expect(origin.requests.filter((r) => r.url.startsWith("/media/a.png")).map((r) => r.url)).toEqual(["/media/a.png"]);
    // The empty segment is never stored: it goes to the origin each time.
    const doubled = await get("/media//a.png");
    expect(doubled.hit).toBe(false);
    expect(doubled.cs.params.detail).toBe("suspicious_path");

    removed = true;
    const r = await purge(worker, { urls: [`${BASE}/media/a.png`] });
    expect(r.status).toBe(200);
    await r.text();
    for (const p of spellings) {
      const after = await get(p);
      expect(after.hit, `${p}: ${after.cs.raw}`).toBe(false);
      expect(after.status, p).toBe(404);
    }
  });
});
