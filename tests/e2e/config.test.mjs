// End to end: invalid config fails loudly and nothing is cached under it.
import { afterAll, beforeAll, expect, test } from "vitest";
import { startOrigin, startWorker } from "./harness.mjs";

let origin, worker;
beforeAll(async () => {
  origin = await startOrigin(() => ({ status: 200, body: "origin" }));
  worker = await startWorker({
    origin: origin.url,
    routes: [{ name: "bad", path: "/api/", ttl: "15x" }],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

test("an invalid config answers 500 naming the problem, and never reaches the origin", async () => {
  for (let i = 0; i < 2; i++) {
    const r = await worker.fetch("https://api.example.com/api/");
    expect(r.status).toBe(500);
    const body = await r.text();
    expect(body).toContain("configuration");
    expect(r.headers.get("cache-status")).toContain("fwd=bypass");
  }
  expect(origin.requests.length).toBe(0);
});

test("the config may also come as a string of JSON (wrangler dev --var, a dashboard text var)", async () => {
  const o = await startOrigin(() => ({ status: 200, headers: { "cache-control": "max-age=60" }, body: "origin" }));
  const w = await startWorker(JSON.stringify({ origin: o.url, routes: [{ name: "a", path: "/a/", ttl: "1m" }] }));
  try {
    const a = await w.fetch("https://api.example.com/a/");
    expect(a.status).toBe(200);
    expect(await a.text()).toBe("origin");
    expect(a.headers.get("cache-status")).toContain("fwd=miss");
  } finally {
    await w.dispose();
    await o.close();
  }
});
