// End to end: media routes — byte ranges cut from the whole stored object, and
// media-type armor (issue: caching behaviour).
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cacheStatus, startRoutedOrigin, startWorker, tempDir } from "./harness.mjs";

let origin, worker, cacheDir;
beforeAll(async () => {
  origin = await startRoutedOrigin();
  // On disk, so the cache's own storage does not count as worker memory below.
  cacheDir = tempDir("edgecache-media-");
  worker = await startWorker(
    {
      origin: origin.url,
      routes: [{ name: "media", path: "/media/*", kind: "media", ttl: "1h" }],
    },
    { cachePersist: cacheDir.dir },
  );
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
  cacheDir?.remove();
});

const BASE = "https://media.example.com";
const get = (path, headers = {}, method = "GET") => worker.fetch(BASE + path, { headers, method });
/** Deterministic bytes: byte i is i mod 251. */
const bytes = (n, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));
const PNG = bytes(1000);
const servePng = (extra = {}) => () => ({
  headers: { "content-type": "image/png", "content-length": String(PNG.length), ...extra },
  body: PNG,
});
const rangesSeen = (p) => origin.requests.filter((r) => r.url === p).map((r) => r.headers.range);

test("a ranged miss fetches the whole object without Range, stores it and answers 206", async () => {
  origin.on("/media/a.png", servePng());
  const r = await get("/media/a.png", { range: "bytes=10-19" });
  expect(r.status).toBe(206);
  expect(r.headers.get("content-range")).toBe("bytes 10-19/1000");
  expect(r.headers.get("content-length")).toBe("10");
  expect(Buffer.from(await r.arrayBuffer())).toEqual(PNG.subarray(10, 20));
  expect(cacheStatus(r).params.fwd).toBe("miss");
  expect(cacheStatus(r).params.ttl).toBeDefined();
  expect(rangesSeen("/media/a.png")).toEqual([undefined]);
  // What was stored is the whole object.
  const full = await get("/media/a.png");
  expect(full.status).toBe(200);
  expect(cacheStatus(full).params.hit).toBe(true);
  expect(Buffer.from(await full.arrayBuffer())).toEqual(PNG);
});

test("a ranged hit answers 206 from the stored copy", async () => {
  origin.on("/media/b.png", servePng());
  await (await get("/media/b.png")).arrayBuffer();
  for (const [range, start, end] of [
    ["bytes=0-0", 0, 0],
    ["bytes=-5", 995, 999],
    ["bytes=990-", 990, 999],
    ["bytes=500-5000", 500, 999],
  ]) {
    const r = await get("/media/b.png", { range });
    expect(r.status, range).toBe(206);
    expect(cacheStatus(r).params.hit, range).toBe(true);
    expect(r.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/1000`);
    expect(Buffer.from(await r.arrayBuffer()), range).toEqual(PNG.subarray(start, end + 1));
  }
  expect(rangesSeen("/media/b.png")).toEqual([undefined]);
});

test("without Range the answer is 200 with the whole object and Accept-Ranges", async () => {
  origin.on("/media/c.png", servePng());
  for (let i = 0; i < 2; i++) {
    const r = await get("/media/c.png");
    expect(r.status).toBe(200);
    expect(r.headers.get("accept-ranges")).toBe("bytes");
    expect(r.headers.get("content-range")).toBeNull();
    expect(Buffer.from(await r.arrayBuffer())).toEqual(PNG);
  }
  expect(origin.hits("/media/c.png")).toBe(1);
});

test("an unsatisfiable range answers 416 with bytes */N, on a miss and on a hit, and the whole object is what is stored", async () => {
  origin.on("/media/d.png", servePng());
  const miss = await get("/media/d.png", { range: "bytes=5000-" });
  expect(miss.status).toBe(416);
  expect(miss.headers.get("content-range")).toBe("bytes */1000");
  expect(await miss.text()).toBe("");
  const hit = await get("/media/d.png", { range: "bytes=1000-1001" });
  expect(hit.status).toBe(416);
  expect(cacheStatus(hit).params.hit).toBe(true);
  expect(hit.headers.get("content-range")).toBe("bytes */1000");
  await hit.text();
  const full = await get("/media/d.png");
  expect(full.status).toBe(200);
  expect(Buffer.from(await full.arrayBuffer())).toEqual(PNG);
  expect(origin.hits("/media/d.png")).toBe(1);
});

test("a malformed or multi-part Range is ignored: 200 with the whole object", async () => {
  origin.on("/media/e.png", servePng());
  for (const range of ["bytes=abc", "bytes=0-1,5-6", "items=0-5", "bytes=9-3"]) {
    const r = await get("/media/e.png", { range });
    expect(r.status, range).toBe(200);
    expect((await r.arrayBuffer()).byteLength, range).toBe(1000);
  }
});

test("If-Range that does not match the stored ETag answers 200 with the whole object", async () => {
  origin.on("/media/f.png", servePng({ etag: '"f1"' }));
  await (await get("/media/f.png")).arrayBuffer();
  const stale = await get("/media/f.png", { range: "bytes=0-9", "if-range": '"f0"' });
  expect(stale.status).toBe(200);
  expect((await stale.arrayBuffer()).byteLength).toBe(1000);
  const same = await get("/media/f.png", { range: "bytes=0-9", "if-range": '"f1"' });
  expect(same.status).toBe(206);
  expect((await same.arrayBuffer()).byteLength).toBe(10);
});

test("HEAD with Range answers 200 headers without a body", async () => {
  origin.on("/media/g.png", servePng());
  const r = await get("/media/g.png", { range: "bytes=0-9" }, "HEAD");
  expect(r.status).toBe(200);
  expect(await r.text()).toBe("");
  const hit = await get("/media/g.png", { range: "bytes=0-9" });
  expect(hit.status).toBe(206);
  expect(cacheStatus(hit).params.hit).toBe(true);
  await hit.arrayBuffer();
});

test("a partial answer from the origin is never stored", async () => {
  origin.on("/media/h.png", () => ({
    status: 206,
    headers: { "content-type": "image/png", "content-range": "bytes 0-9/1000", "content-length": "10" },
    body: PNG.subarray(0, 10),
  }));
  for (let i = 0; i < 2; i++) {
    const r = await get("/media/h.png", { range: "bytes=0-9" });
    expect(r.status).toBe(206);
    expect(cacheStatus(r).params.stored).toBeUndefined();
    await r.arrayBuffer();
  }
  expect(origin.hits("/media/h.png")).toBe(2);
});

test("a media path answered with a Content-Type that disagrees with its extension is not stored", async () => {
  origin.on("/media/x.png", () => ({
    headers: { "content-type": "text/html", "cache-control": "public, max-age=600" },
    body: "<html>account page</html>",
  }));
  for (let i = 0; i < 2; i++) {
    const r = await get("/media/x.png");
    expect(cacheStatus(r).params.detail).toBe("media_type_mismatch");
    expect(cacheStatus(r).params.stored).toBeUndefined();
    await r.text();
  }
  expect(origin.hits("/media/x.png")).toBe(2);
});

/** Resident memory (kB) of the workerd processes this test file started. */
function workerdRssKb() {
  const out = execFileSync("ps", ["-eo", "ppid=,rss=,comm="], { encoding: "utf8" });
  let kb = 0;
  for (const line of out.trim().split("\n")) {
    const [ppid, rss, comm] = line.trim().split(/\s+/);
    if (Number(ppid) === process.pid && comm.startsWith("workerd")) kb += Number(rss);
  }
  return kb;
}

test("a 100 MB media object streams through and is sliced without buffering it", async () => {
  const SIZE = 100 * 1024 * 1024;
  const CHUNK = 1024 * 1024;
  origin.on("/media/big.mp4", (req, res) => {
    res.writeHead(200, { "content-type": "video/mp4", "content-length": String(SIZE) });
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        const ok = res.write(bytes(CHUNK, sent));
        sent += CHUNK;
        if (!ok) return res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  const before = workerdRssKb();
  expect(before, "the workerd process is found").toBeGreaterThan(0);
  const miss = await get("/media/big.mp4", { range: `bytes=${SIZE - 100}-` });
  expect(miss.status).toBe(206);
  expect(miss.headers.get("content-range")).toBe(`bytes ${SIZE - 100}-${SIZE - 1}/${SIZE}`);
  expect(Buffer.from(await miss.arrayBuffer())).toEqual(bytes(100, SIZE - 100));
  // Wait for the stored copy to land, then slice the middle of it.
  let hit;
  for (let i = 0; i < 50; i++) {
    hit = await get("/media/big.mp4", { range: "bytes=52428800-52428899" });
    if (cacheStatus(hit).params.hit) break;
    await hit.arrayBuffer();
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(cacheStatus(hit).params.hit).toBe(true);
  expect(hit.status).toBe(206);
  expect(Buffer.from(await hit.arrayBuffer())).toEqual(bytes(100, 52428800));
  const grown = workerdRssKb() - before;
  if (process.env.EDGECACHE_DEBUG) console.log(`workerd RSS grew ${grown} kB`);
  // The object is 100 MB; streaming keeps the worker well below that.
  expect(grown).toBeLessThan(48 * 1024);
}, 60_000);
