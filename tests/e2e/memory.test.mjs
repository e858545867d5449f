// End to end: the isolate's memory tier in front of the Cache API (see
// src/memory.rs). A memory hit says `detail=memory` in Cache-Status. Each test
// uses its own paths.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, sleep, startRoutedOrigin, startWorker, untilHit } from "./harness.mjs";

let origin, worker, offWorker, shortWorker;
const BASE = "https://api.example.com";
const routes = () => [
  { name: "api", path: "/api/*", ttl: "15m", tags: ["api"] },
  { name: "tagged", path: "/t/:id", ttl: "15m", tags: ["item:{id}"] },
  { name: "media", path: "/media/*", kind: "media", ttl: "1d" },
];

beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker({ origin: origin.url, routes: routes() });
  offWorker = await startWorker({ origin: origin.url, routes: routes(), memory: { max_bytes: 0 } });
  shortWorker = await startWorker({
    origin: origin.url,
    routes: routes(),
    memory: { max_age: "1s", max_entry_bytes: 64 },
  });
});
afterAll(async () => {
  await Promise.all([worker, offWorker, shortWorker].map((w) => w?.dispose()));
  await origin?.close();
});

async function get(w, path, init) {
  const r = await w.fetch(BASE + path, init);
  const body = await r.text();
  const cs = cacheStatus(r);
  return { r, body, cs, hit: cs?.params.hit === true, memory: cs?.params.detail === "memory" };
}
/** GETs until the answer comes from memory (the copy is kept in wait_until). */
const untilMemory = (w, path, init) =>
  untilHit(async () => {
    const x = await get(w, path, init);
    return { ...x, hit: x.memory };
  });
const bytes = (n) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
/** Deletes the Cache API's copy (the worker's key URL is the request URL here). */
async function deleteFromCacheApi(w, keyUrl) {
  const caches = await w.mf.getCaches();
  return caches.default.delete(keyUrl);
}

describe("memory tier", () => {
  test("a stored entry is then served from memory, without the Cache API", async () => {
    origin.on("/api/m1", () => ({ status: 200, headers: { "content-type": "application/json", "cache-control": "max-age=600" }, body: '{"v":1}' }));
    const first = await get(worker, "/api/m1");
    expect(first.cs.params.fwd).toBe("miss");
    const hit = await untilMemory(worker, "/api/m1");
    expect(hit.memory).toBe(true);
    expect(hit.cs.raw).toMatch(/^edgecache; hit; ttl=\d+; detail=memory$/);
    expect(hit.body).toBe('{"v":1}');
    expect(hit.r.headers.get("content-type")).toBe("application/json");
    expect(hit.r.headers.get("age")).toMatch(/^\d+$/);
    for (const internal of ["x-edgecache-status", "x-edgecache-stamp", "x-edgecache-meta"]) {
      expect(hit.r.headers.get(internal)).toBeNull();
    }
    // Gone from the Cache API: still a hit, from memory, and the origin is not asked.
    expect(await deleteFromCacheApi(worker, BASE + "/api/m1")).toBe(true);
    const again = await get(worker, "/api/m1");
    expect(again.memory).toBe(true);
    expect(again.body).toBe('{"v":1}');
    expect(origin.hits("/api/m1")).toBe(1);
  });

  test("a purge by tag holds for memory entries: the next request goes to the origin", async () => {
    let v = 0;
    origin.on("/t/7", () => ({ status: 200, headers: { "content-type": "text/plain" }, body: `v${++v}` }));
    await get(worker, "/t/7");
    expect((await untilMemory(worker, "/t/7")).body).toBe("v1");
    const r = await purge(worker, { tags: ["item:7"] });
    expect(r.status).toBe(200);
    const after = await get(worker, "/t/7");
    expect(after.hit).toBe(false);
    expect(after.cs.params.fwd).toBe("miss");
    expect(after.body).toBe("v2");
  });

  test("an unsafe method invalidates the memory copy too", async () => {
    let v = 0;
    origin.on("/api/m-post", (req) => ({ status: 200, headers: { "content-type": "text/plain" }, body: `${req.method}${++v}` }));
    await get(worker, "/api/m-post");
    expect((await untilMemory(worker, "/api/m-post")).body).toBe("GET1");
    const post = await get(worker, "/api/m-post", { method: "POST", body: "x" });
    expect(post.r.status).toBe(200);
    const after = await get(worker, "/api/m-post");
    expect(after.hit).toBe(false);
    expect(after.body).toBe("GET3");
  });

  test("ranges, HEAD and conditional requests are answered from memory", async () => {
    origin.on("/media/small.bin", () => ({
      status: 200,
      headers: { "content-type": "application/octet-stream", "content-length": "100", etag: '"s1"', "cache-control": "max-age=600" },
      body: bytes(100),
    }));
    await get(worker, "/media/small.bin");
    await untilMemory(worker, "/media/small.bin");
    const range = await get(worker, "/media/small.bin", { headers: { range: "bytes=2-5" } });
    expect(range.r.status).toBe(206);
    expect(range.memory).toBe(true);
    expect(range.body).toBe("cdef");
    expect(range.r.headers.get("content-range")).toBe("bytes 2-5/100");
    const suffix = await get(worker, "/media/small.bin", { headers: { range: "bytes=-3" } });
    expect(suffix.body).toBe(bytes(100).slice(-3));
    const head = await get(worker, "/media/small.bin", { method: "HEAD" });
    expect(head.r.status).toBe(200);
    expect(head.memory).toBe(true);
    expect(head.body).toBe("");
    const cond = await get(worker, "/media/small.bin", { headers: { "if-none-match": '"s1"' } });
    expect(cond.r.status).toBe(304);
    expect(cond.memory).toBe(true);
    expect(origin.hits("/media/small.bin")).toBe(1);
  });

  test("a body without Content-Length gets its length in memory, as the Cache API's copy has", async () => {
    origin.on("/media/chunked.bin", () => ({ status: 200, headers: { "content-type": "application/octet-stream" }, body: bytes(100) }));
    await get(worker, "/media/chunked.bin");
    const hit = await untilMemory(worker, "/media/chunked.bin");
    expect(hit.r.headers.get("content-length")).toBe("100");
    const range = await get(worker, "/media/chunked.bin", { headers: { range: "bytes=2-5" } });
    expect(range.memory).toBe(true);
    expect(range.r.status).toBe(206);
    expect(range.body).toBe("cdef");
    // The same request to the Cache API path answers the same way.
    await get(offWorker, "/media/chunked.bin");
    await untilHit(() => get(offWorker, "/media/chunked.bin"));
    const l2 = await get(offWorker, "/media/chunked.bin", { headers: { range: "bytes=2-5" } });
    expect(l2.r.status).toBe(206);
    expect(l2.r.headers.get("content-range")).toBe(range.r.headers.get("content-range"));
  });

  test("a stored 204 (a null-body status) is answered from memory and from the Cache API", async () => {
    origin.on("/api/empty", () => ({ status: 204, headers: { "cache-control": "max-age=600" } }));
    const first = await get(worker, "/api/empty");
    expect(first.r.status).toBe(204);
    const hit = await untilMemory(worker, "/api/empty");
    expect(hit.memory).toBe(true);
    expect(hit.r.status).toBe(204);
    expect(hit.body).toBe("");
    expect(hit.r.headers.get("content-length")).toBeNull();
    await get(offWorker, "/api/empty");
    const l2 = await untilHit(() => get(offWorker, "/api/empty"));
    expect(l2.hit).toBe(true);
    expect(l2.r.status).toBe(204);
    expect(l2.r.headers.get("content-length")).toBeNull();
    expect(origin.hits("/api/empty")).toBe(2);
  });

  test("memory.max_bytes = 0 turns the tier off: every hit comes from the Cache API", async () => {
    origin.on("/api/off", () => ({ status: 200, headers: { "content-type": "text/plain" }, body: "off" }));
    await get(offWorker, "/api/off");
    const hit = await untilHit(() => get(offWorker, "/api/off"));
    expect(hit.hit).toBe(true);
    for (let i = 0; i < 3; i++) expect((await get(offWorker, "/api/off")).memory).toBe(false);
    await deleteFromCacheApi(offWorker, BASE + "/api/off");
    const miss = await get(offWorker, "/api/off");
    expect(miss.hit).toBe(false);
    expect(origin.hits("/api/off")).toBe(2);
  });

  test("max_age bounds residence; a Cache API hit brings the entry back into memory", async () => {
    origin.on("/api/short", () => ({ status: 200, headers: { "content-type": "text/plain" }, body: "short" }));
    await get(shortWorker, "/api/short");
    await untilMemory(shortWorker, "/api/short");
    await sleep(2100);
    const fromCacheApi = await get(shortWorker, "/api/short");
    expect(fromCacheApi.hit).toBe(true);
    expect(fromCacheApi.memory).toBe(false);
    const promoted = await untilMemory(shortWorker, "/api/short");
    expect(promoted.memory).toBe(true);
    expect(promoted.body).toBe("short");
    expect(origin.hits("/api/short")).toBe(1);
  });

  test("bodies over max_entry_bytes stay in the Cache API only", async () => {
    origin.on("/api/big", () => ({ status: 200, headers: { "content-type": "text/plain" }, body: bytes(65) }));
    await get(shortWorker, "/api/big");
    const hit = await untilHit(() => get(shortWorker, "/api/big"));
    expect(hit.hit).toBe(true);
    expect(hit.body).toBe(bytes(65));
    for (let i = 0; i < 3; i++) expect((await get(shortWorker, "/api/big")).memory).toBe(false);
  });
});
