// End to end: an origin that compresses (Content-Encoding: gzip with a
// Content-Length, as nginx `gzip on` or Django's GZipMiddleware send) is
// cached and served as it sent it. The test origin compresses whatever it is
// asked, as production's origins do: Cloudflare's edge asks every origin for
// `gzip, br` (Miniflare's subrequests ask for nothing, which once hid that
// such answers were never stored). docs/caching.md, "Compressed answers".
import http from "node:http";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, sleep, startOrigin, startWorker, untilHit } from "./harness.mjs";

const JSON_BODY = JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => ({ id: i, title: `course ${i}` })) });
const GZ = zlib.gzipSync(Buffer.from(JSON_BODY));
// Past the worker's 4 MiB whole-copy limit once coded: streamed into the cache.
const BIG_PLAIN = Buffer.from(Array.from({ length: 6 * 1024 * 1024 }, (_, i) => (i * 7919) % 251));
const BIG_GZ = zlib.gzipSync(BIG_PLAIN, { level: 1 });

let origin, worker;

beforeAll(async () => {
  origin = await startOrigin((req) => {
    const path = req.url.split("?")[0];
    const gzip = { "content-encoding": "gzip", vary: "Accept-Encoding" };
    if (path.startsWith("/api/gz/revalidate")) {
      if (req.headers["if-none-match"] === '"v1"') {
        return { status: 304, headers: { etag: '"v1"', "cache-control": "max-age=2" } };
      }
      return {
        headers: { ...gzip, "content-type": "application/json", "content-length": GZ.length, etag: '"v1"', "cache-control": "max-age=2" },
        body: GZ,
      };
    }
    if (path.startsWith("/api/gz/big")) {
      return {
        headers: { ...gzip, "content-type": "application/octet-stream", "content-length": BIG_GZ.length, "cache-control": "max-age=600" },
        body: BIG_GZ,
      };
    }
    if (path.startsWith("/pass/")) {
      // Not a route: passed through. Compresses only when asked, as Django does.
      const gz = /gzip/.test(req.headers["accept-encoding"] ?? "");
      return gz
        ? { headers: { ...gzip, "content-type": "application/json", "content-length": GZ.length }, body: GZ }
        : { headers: { "content-type": "application/json" }, body: JSON_BODY };
    }
    if (path.startsWith("/api/br/")) {
      // Brotli although the worker asked for gzip only: no client but one that
      // accepts br could read a stored copy of it.
      const br = zlib.brotliCompressSync(Buffer.from(JSON_BODY));
      return {
        headers: { "content-encoding": "br", "content-type": "application/json", "content-length": br.length, "cache-control": "max-age=600" },
        body: br,
      };
    }
    if (path.startsWith("/api/plain/")) {
      return { headers: { "content-type": "application/json", "content-length": JSON_BODY.length, "cache-control": "max-age=600" }, body: JSON_BODY };
    }
    if (path.startsWith("/api/gz/") || path.startsWith("/media/")) {
      return {
        headers: { ...gzip, "content-type": "application/json", "content-length": GZ.length, "cache-control": "max-age=600" },
        body: GZ,
      };
    }
    return { status: 404, body: "" };
  });
  worker = await startWorker(
    {
      origin: origin.url,
      routes: [
        { name: "api", path: "/api/*", ttl: "15m" },
        { name: "media", path: "/media/*", kind: "media", ttl: "1h" },
      ],
    },
    { listen: true },
  );
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

/** A raw GET through the worker's socket: the bytes as they arrive, nothing decoded. */
function raw(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, worker.url), { headers }, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        const cs = cacheStatus({ headers: { get: (n) => res.headers[n] ?? null } });
        resolve({ status: res.statusCode, headers: res.headers, body, cs, hit: cs?.params.hit === true });
      });
    });
    req.on("error", reject);
  });
}

const decoded = (r) => (r.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(r.body) : r.body).toString();

describe("an origin that answers Content-Encoding: gzip with a Content-Length", () => {
  test("is stored once: 31 requests make one origin request, every answer the origin's JSON", async () => {
    const path = "/api/gz/list";
    const first = await raw(path, { "accept-encoding": "gzip" });
    expect(first.status).toBe(200);
    expect(decoded(first)).toBe(JSON_BODY);
    const hit = await untilHit(() => raw(path, { "accept-encoding": "gzip" }));
    expect(hit.cs.raw).toMatch(/^edgecache; hit; ttl=\d+/);
    for (let i = 0; i < 29; i++) {
      const r = await raw(path, { "accept-encoding": "gzip" });
      expect(r.hit, r.cs.raw).toBe(true);
      expect(decoded(r)).toBe(JSON_BODY);
    }
    expect(origin.hits(path)).toBe(1);
  });

  test("the miss does not claim `stored` before its copy is written; the next request is a hit", async () => {
    const path = "/api/gz/claim";
    const miss = await raw(path, { "accept-encoding": "gzip" });
    expect(miss.cs.raw).toMatch(/^edgecache; fwd=miss; fwd-status=200; ttl=600$/);
    expect(miss.cs.params.stored).toBeUndefined();
    const hit = await untilHit(() => raw(path, { "accept-encoding": "gzip" }));
    expect(hit.hit).toBe(true);
  });

  test("a br answer (not asked for) is passed on as it is and never stored", async () => {
    const path = "/api/br/item";
    for (let i = 0; i < 3; i++) {
      const r = await raw(path, { "accept-encoding": "br" });
      expect(r.headers["content-encoding"]).toBe("br");
      expect(zlib.brotliDecompressSync(r.body).toString()).toBe(JSON_BODY);
      expect(r.cs.raw).toMatch(/fwd=miss; fwd-status=200; detail=undecodable_coding$/);
      await sleep(50);
    }
    // A client that accepts only gzip was never handed a stored br body.
    const gz = await raw(path, { "accept-encoding": "gzip" });
    expect(gz.hit).toBe(false);
    expect(origin.hits(path)).toBe(4);
  });

  test("the origin is asked for gzip, whatever the client accepts", async () => {
    const path = "/api/gz/asked";
    await raw(path, { "accept-encoding": "identity" });
    const asked = origin.requests.filter((r) => r.url.startsWith(path));
    expect(asked.map((r) => r.headers["accept-encoding"])).toEqual(["gzip"]);
  });

  test("a hit to a gzip client is the origin's gzip bytes with their Content-Length (Cache API and memory tier)", async () => {
    const path = "/api/gz/bytes";
    const miss = await raw(path, { "accept-encoding": "gzip" });
    expect(miss.headers["content-encoding"]).toBe("gzip");
    expect(miss.body.equals(GZ)).toBe(true);
    expect(miss.headers["content-length"]).toBe(String(GZ.length));
    const hit = await untilHit(() => raw(path, { "accept-encoding": "gzip" }));
    const memory = await raw(path, { "accept-encoding": "gzip" });
    for (const r of [hit, memory]) {
      expect(r.headers["content-encoding"], r.cs.raw).toBe("gzip");
      expect(r.headers["content-length"], r.cs.raw).toBe(String(GZ.length));
      expect(r.headers["transfer-encoding"], r.cs.raw).toBeUndefined();
      expect(r.body.equals(GZ), r.cs.raw).toBe(true);
    }
    expect(memory.cs.params.detail).toBe("memory");
  });

  test("a client that prefers another coding, or none, gets the JSON decoded, on a miss and on hits", async () => {
    for (const [i, accept] of [undefined, "identity", "br, gzip", "deflate", "gzip;q=0, br"].entries()) {
      const path = `/api/gz/other-${i}`;
      const headers = accept === undefined ? {} : { "accept-encoding": accept };
      const miss = await raw(path, headers);
      const hit = await untilHit(() => raw(path, headers));
      const memory = await raw(path, headers);
      for (const r of [miss, hit, memory]) {
        const label = `${accept}: ${r.cs.raw}`;
        expect(r.status, label).toBe(200);
        // Decoded by the worker; Miniflare, as Cloudflare's edge, may code it again (br).
        const coding = r.headers["content-encoding"];
        const text = coding === "br" ? zlib.brotliDecompressSync(r.body).toString() : coding === "gzip" ? zlib.gunzipSync(r.body).toString() : r.body.toString();
        expect(text, label).toBe(JSON_BODY);
        expect(r.headers.vary, label).toMatch(/accept-encoding/i);
      }
      expect(origin.hits(path)).toBe(1);
    }
  });

  test("issue 27.4: an origin that does not compress: the edge compresses a hit for a gzip client as it streams (no Content-Length); an identity client keeps it", async () => {
    const path = "/api/plain/list";
    await raw(path, { "accept-encoding": "gzip" });
    const hit = await untilHit(() => raw(path, { "accept-encoding": "gzip" }));
    expect(hit.headers["content-encoding"], hit.cs.raw).toBe("gzip");
    expect(hit.headers["content-length"], hit.cs.raw).toBeUndefined();
    expect(decoded(hit)).toBe(JSON_BODY);
    const identity = await raw(path, { "accept-encoding": "identity" });
    expect(identity.hit).toBe(true);
    expect(identity.headers["content-length"]).toBe(String(JSON_BODY.length));
  });

  test("pass-through relays a compressed answer as sent, decoded for a client that prefers another coding", async () => {
    for (const accept of ["gzip", "br, gzip", "identity", undefined]) {
      const r = await raw("/pass/x", accept === undefined ? {} : { "accept-encoding": accept });
      const coding = r.headers["content-encoding"];
      const text = coding === "br" ? zlib.brotliDecompressSync(r.body).toString() : coding === "gzip" ? zlib.gunzipSync(r.body).toString() : r.body.toString();
      expect(text, `${accept}: ${coding}`).toBe(JSON_BODY);
      if (accept === "gzip") expect(r.body.equals(GZ)).toBe(true);
    }
  });

  test("forwarded uncached when KV cannot be read, a gzip answer is relayed as sent", async () => {
    const w = await startWorker({ origin: origin.url, routes: [{ name: "api", path: "/api/*", ttl: "15m" }] }, { kv: false, quiet: true });
    try {
      let r;
      for (let i = 0; i < 40; i++) {
        r = await w.fetch("https://api.example.com/api/gz/nokv", { headers: { "accept-encoding": "gzip" } });
        const detail = cacheStatus(r)?.params.detail;
        const bytes = Buffer.from(await r.arrayBuffer());
        if (detail === "generations_unavailable") {
          expect(bytes.toString()).toBe(JSON_BODY);
          return;
        }
        await sleep(25);
      }
      throw new Error(`never forwarded uncached: ${r.headers.get("cache-status")}`);
    } finally {
      await w.dispose();
    }
  });

  test("HEAD of a stored gzip entry has its fields and no body", async () => {
    const path = "/api/gz/head";
    await raw(path, { "accept-encoding": "gzip" });
    await untilHit(() => raw(path, { "accept-encoding": "gzip" }));
    const head = await new Promise((resolve) => {
      const req = http.request(new URL(path, worker.url), { method: "HEAD", headers: { "accept-encoding": "gzip" } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res));
      });
      req.end();
    });
    expect(head.statusCode).toBe(200);
    expect(head.headers["content-encoding"]).toBe("gzip");
    expect(head.headers["cache-status"]).toMatch(/hit/);
  });

  test("a stale gzip entry revalidated with a 304 keeps serving the same bytes", async () => {
    const path = "/api/gz/revalidate";
    await raw(path, { "accept-encoding": "gzip" });
    await untilHit(() => raw(path, { "accept-encoding": "gzip" }));
    // Stale after 2 s; the Cache API keeps an entry with a validator twice its TTL.
    await sleep(2600);
    const revalidated = await raw(path, { "accept-encoding": "gzip" });
    expect(revalidated.status).toBe(200);
    expect(decoded(revalidated)).toBe(JSON_BODY);
    const conditional = origin.requests.filter((r) => r.url.startsWith(path) && r.headers["if-none-match"]);
    expect(conditional.length).toBeGreaterThanOrEqual(1);
    // The re-stored copy (written from the stored body) is whole and still gzip.
    const after = await untilHit(() => raw(path, { "accept-encoding": "gzip" }), { tries: 40 });
    expect(after.hit, after.cs.raw).toBe(true);
    expect(after.body.equals(GZ)).toBe(true);
  });

  test("a coded body past the whole-copy limit is streamed into the cache and served whole", async () => {
    const path = "/api/gz/big";
    const miss = await raw(path, { "accept-encoding": "gzip" });
    expect(miss.body.length).toBe(BIG_GZ.length);
    const hit = await untilHit(() => raw(path, { "accept-encoding": "gzip" }), { tries: 80, delayMs: 50 });
    expect(hit.hit, hit.cs.raw).toBe(true);
    expect(hit.body.equals(BIG_GZ)).toBe(true);
    expect(zlib.gunzipSync(hit.body).equals(BIG_PLAIN)).toBe(true);
    expect(origin.hits(path)).toBe(1);
  }, 60_000);

  test("a Range on a coded media object is answered with the whole object (RFC 9110 §14.2)", async () => {
    const path = "/media/a.json";
    await raw(path, { "accept-encoding": "gzip" });
    const hit = await untilHit(() => raw(path, { "accept-encoding": "gzip", range: "bytes=0-9" }));
    expect(hit.status).toBe(200);
    expect(hit.body.equals(GZ)).toBe(true);
  });
});
