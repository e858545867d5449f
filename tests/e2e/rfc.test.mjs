// End to end: RFC 9111 / RFC 9213 details that protect the origin and keep
// what clients see true (docs/caching.md): the origin's Age (on hits and on
// forwarded answers), entries kept to be revalidated (route keep),
// Cache-Control passed on unchanged, targeted fields (CDN-Cache-Control, used
// here and passed on), s-maxage and
// must-revalidate against stale serving, request Cache-Control, Content-Length
// on hits, and what unsafe methods invalidate. Each test uses its own paths.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, sleep, startRoutedOrigin, startWorker, untilHit } from "./harness.mjs";

let origin, worker, noMemory;
const BASE = "https://api.example.com";

beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker({
    origin: origin.url,
    routes: [
      { name: "api", path: "/api/*", ttl: "15m" },
      { name: "sie", path: "/sie/*", ttl: "15m", stale_if_error: "1h", timeout: "2s" },
      { name: "honor", path: "/honor/*", ttl: "15m", honor_request_cache_control: true },
      { name: "media", path: "/media/*", kind: "media", ttl: "1d" },
      { name: "nokeep", path: "/nokeep/*", ttl: "15m", keep: "0s" },
    ],
  });
  noMemory = await startWorker({
    origin: origin.url,
    routes: [{ name: "api", path: "/api/*", ttl: "15m" }],
    memory: { max_bytes: 0 },
  });
});
afterAll(async () => {
  await worker?.dispose();
  await noMemory?.dispose();
  await origin?.close();
});

const get = (path, init = {}, base = BASE) => getFrom(worker, path, init, base);
async function getFrom(w, path, init = {}, base = BASE) {
  const r = await w.fetch(base + path, init);
  const body = await r.text();
  const cs = cacheStatus(r);
  return { r, body, cs, h: r.headers, hit: cs?.params.hit === true, memory: cs?.params.detail === "memory" };
}
const answer = (headers, body = "body", status = 200) => () => ({
  status,
  headers: { "content-type": "text/plain", ...headers },
  body,
});
/** GETs until a hit (the cache's copy is written after the response). */
const untilCached = (path, init) => untilHit(() => get(path, init));
const untilMemory = (path, init) =>
  untilHit(async () => {
    const x = await get(path, init);
    return { ...x, hit: x.memory };
  });
const ttl = (x) => Number(x.cs.params.ttl);
/** An origin lifetime of `n` as stored: one second less when a second ticked
 * between the origin's Date and the worker's clock (apparent age). */
const lifetime = (n) => [n - 1, n];

describe("the origin's Age (RFC 9111 §4.2.3)", () => {
  test("an upstream Age counts against freshness and shows in the Age of hits, memory tier too", async () => {
    origin.on("/api/age-100", answer({ "cache-control": "max-age=600", age: "100" }));
    const miss = await get("/api/age-100");
    expect(miss.cs.params.stored).toBe(true);
    // 600 - 100 (one less if the fetch itself took a second: response_delay).
    expect([499, 500]).toContain(ttl(miss));
    const hit = await untilCached("/api/age-100");
    expect(Number(hit.h.get("age"))).toBeGreaterThanOrEqual(100);
    expect(Number(hit.h.get("age"))).toBeLessThan(110);
    expect(ttl(hit)).toBeLessThanOrEqual(500);
    const mem = await untilMemory("/api/age-100");
    expect(mem.memory).toBe(true);
    expect(Number(mem.h.get("age"))).toBeGreaterThanOrEqual(100);
  });

  test("an origin Date in the past is an apparent age", async () => {
    const date = new Date(Date.now() - 100_000).toUTCString();
    origin.on("/api/age-date", answer({ "cache-control": "max-age=600", date }));
    const miss = await get("/api/age-date");
    expect(ttl(miss)).toBeGreaterThanOrEqual(498);
    expect(ttl(miss)).toBeLessThanOrEqual(500);
    const hit = await untilCached("/api/age-date");
    expect(Number(hit.h.get("age"))).toBeGreaterThanOrEqual(99);
  });

  test("a list-based Age uses its first member (RFC 9111 §5.1)", async () => {
    origin.on("/api/age-list", answer({ "cache-control": "max-age=600", age: ["30", "100"] }));
    const miss = await get("/api/age-list");
    expect([569, 570]).toContain(ttl(miss));
  });

  test("an invalid Age is ignored (RFC 9111 §5.1)", async () => {
    for (const [i, age] of ["1s", "-1", "1.5"].entries()) {
      const p = `/api/age-bad-${i}`;
      origin.on(p, answer({ "cache-control": "max-age=600", age }));
      const miss = await get(p);
      expect(miss.cs.params.stored, age).toBe(true);
      expect(ttl(miss), age).toBeGreaterThanOrEqual(598);
      const hit = await untilCached(p);
      expect(Number(hit.h.get("age")), age).toBeLessThan(5);
    }
  });

  test("an Age past the lifetime is not stored", async () => {
    origin.on("/api/age-old", answer({ "cache-control": "max-age=600", age: "700" }));
    const miss = await get("/api/age-old");
    expect(miss.cs.params.detail).toBe("zero_ttl");
  });

  // The whole seconds the fetch took (response_delay) count: 0 on loopback, 1 at most here.
  const ageOf = (x) => Number(x.h.get("age"));
  test("a forwarded answer carries the upstream Age, stored or not, Expires-based too (RFC 9111 §5.1)", async () => {
    origin.on("/api/fwd-age-old", answer({ "cache-control": "max-age=3600", age: "7200" }));
    const old = await get("/api/fwd-age-old");
    expect(old.cs.params.detail).toBe("zero_ttl");
    expect([7200, 7201]).toContain(ageOf(old));
    const date = new Date().toUTCString();
    const expires = new Date(Date.now() + 3_600_000).toUTCString();
    origin.on("/api/fwd-age-expires", answer({ expires, date, age: "7200" }));
    const exp = await get("/api/fwd-age-expires");
    expect(exp.cs.params.detail).toBe("zero_ttl");
    expect([7200, 7201]).toContain(ageOf(exp));
    origin.on("/api/fwd-age-stored", answer({ "cache-control": "max-age=600", age: "100" }));
    const stored = await get("/api/fwd-age-stored");
    expect(stored.cs.params.stored).toBe(true);
    expect([100, 101]).toContain(ageOf(stored));
    // A list: its first member, sent on as one value.
    origin.on("/api/fwd-age-list", answer({ "cache-control": "max-age=3600", age: ["7200", "0"] }));
    expect([7200, 7201]).toContain(ageOf(await get("/api/fwd-age-list")));
  });

  test("an answer made by the origin for this request gets no Age; an invalid one passes as received", async () => {
    origin.on("/api/fwd-age-none", answer({ "cache-control": "max-age=600" }));
    expect((await get("/api/fwd-age-none")).h.get("age")).toBeNull();
    origin.on("/api/fwd-age-bad", answer({ "cache-control": "max-age=600", age: "abc" }));
    expect((await get("/api/fwd-age-bad")).h.get("age")).toBe("abc");
  });

  test("pass-through sends the origin's Age exactly as received", async () => {
    // No route matches /other/: the worker is no cache there.
    origin.on("/other/age", answer({ "cache-control": "max-age=3600", age: "7200, 0" }));
    const pass = await get("/other/age");
    expect(pass.cs.params.detail).toBe("no_route");
    expect(pass.h.get("age")).toBe("7200, 0");
  });
});

describe("entries kept to be revalidated (route keep)", () => {
  test("a max-age=1 answer with an ETag is revalidated three seconds later, not downloaded again", async () => {
    let full = 0;
    origin.on("/api/keep-short", (req) => {
      const headers = { "content-type": "text/plain", "cache-control": "max-age=1", etag: '"k1"' };
      if (req.headers["if-none-match"] === '"k1"') return { status: 304, headers, body: "" };
      full += 1;
      return { status: 200, headers, body: "kept body" };
    });
    expect((await get("/api/keep-short")).cs.params.stored).toBe(true);
    await untilCached("/api/keep-short");
    // Past twice the TTL: before the route keep, the copy was gone by now.
    await sleep(3100);
    const again = await get("/api/keep-short");
    expect(again.body).toBe("kept body");
    expect(again.cs.params.fwd).toBe("stale");
    expect(again.cs.params["fwd-status"]).toBe("304");
    expect(full).toBe(1);
  });

  test("keep = 0s: the expired copy is gone, the next request downloads it whole", async () => {
    let full = 0;
    origin.on("/nokeep/x", (req) => {
      const headers = { "content-type": "text/plain", "cache-control": "max-age=1", etag: '"n1"' };
      if (req.headers["if-none-match"] === '"n1"') return { status: 304, headers, body: "" };
      full += 1;
      return { status: 200, headers, body: "body" };
    });
    await get("/nokeep/x");
    await untilCached("/nokeep/x");
    await sleep(2100);
    const again = await get("/nokeep/x");
    expect(again.cs.params.fwd).toBe("miss");
    expect(full).toBe(2);
  });
});

describe("Cache-Control towards clients", () => {
  test("the origin's value arrives unchanged, s-maxage and proxy-revalidate included", async () => {
    const cc = "public, max-age=60, s-maxage=600, proxy-revalidate";
    origin.on("/api/cc-verbatim", answer({ "cache-control": cc }));
    const miss = await get("/api/cc-verbatim");
    expect(miss.h.get("cache-control")).toBe(cc);
    const hit = await untilCached("/api/cc-verbatim");
    expect(hit.h.get("cache-control")).toBe(cc);
  });
});

describe("targeted fields (RFC 9213)", () => {
  test("CDN-Cache-Control wins over Cache-Control here and is passed on for CDNs downstream (RFC 9213 §3)", async () => {
    origin.on("/api/cdn-cc", answer({ "cache-control": "no-store", "cdn-cache-control": "max-age=300" }));
    const miss = await get("/api/cdn-cc");
    expect(miss.cs.params.stored).toBe(true);
    expect(lifetime(300)).toContain(ttl(miss));
    expect(miss.h.get("cache-control")).toBe("no-store");
    expect(miss.h.get("cdn-cache-control")).toBe("max-age=300");
    const hit = await untilCached("/api/cdn-cc");
    expect(hit.h.get("cache-control")).toBe("no-store");
    expect(hit.h.get("cdn-cache-control")).toBe("max-age=300");
    expect(origin.hits("/api/cdn-cc")).toBe(1);
  });

  test("a CDN-Cache-Control that keeps it from being stored still reaches the client", async () => {
    for (const cdn of ["private", "no-cache", "no-store"]) {
      const p = `/api/cdn-${cdn}`;
      origin.on(p, answer({ "cdn-cache-control": cdn, "cache-control": "max-age=10000" }));
      const miss = await get(p);
      expect(miss.cs.params.stored, cdn).toBeUndefined();
      expect(miss.h.get("cdn-cache-control"), cdn).toBe(cdn);
    }
  });

  test("Cloudflare-CDN-Cache-Control is the most specific and addresses only us: it is not passed on", async () => {
    origin.on(
      "/api/cf-cdn-cc",
      answer({ "cache-control": "max-age=60", "cdn-cache-control": "no-store", "cloudflare-cdn-cache-control": "max-age=200" }),
    );
    const miss = await get("/api/cf-cdn-cc");
    expect(lifetime(200)).toContain(ttl(miss));
    expect(miss.h.get("cloudflare-cdn-cache-control")).toBeNull();
    expect(miss.h.get("cdn-cache-control")).toBe("no-store");
    expect(miss.h.get("cache-control")).toBe("max-age=60");
    const hit = await untilCached("/api/cf-cdn-cc");
    expect(hit.h.get("cloudflare-cdn-cache-control")).toBeNull();
    expect(hit.h.get("cdn-cache-control")).toBe("no-store");
  });

  test("a targeted field that is not a valid Dictionary is ignored whole; the next one is used", async () => {
    // Upper-case keys and a trailing comma are not Structured Fields (RFC 8941).
    origin.on(
      "/api/cdn-bad",
      answer({ "cache-control": "max-age=60", "cdn-cache-control": "max-age=120", "cloudflare-cdn-cache-control": "Max-Age=900," }),
    );
    expect(lifetime(120)).toContain(ttl(await get("/api/cdn-bad")));
    origin.on("/api/cdn-bad-2", answer({ "cache-control": "max-age=60", "cdn-cache-control": "max-age=120,," }));
    expect(lifetime(60)).toContain(ttl(await get("/api/cdn-bad-2")));
  });

  test("with a targeted field, Expires is ignored too", async () => {
    origin.on(
      "/api/cdn-expires",
      answer({ expires: "Thu, 01 Jan 1970 00:00:00 GMT", "cdn-cache-control": "public" }),
    );
    const miss = await get("/api/cdn-expires");
    // No lifetime in the targeted field: the route's ttl, not the past Expires.
    expect(miss.cs.params.stored).toBe(true);
    expect(ttl(miss)).toBe(900);
  });
});

describe("no stale serving the origin did not allow", () => {
  const flaky = (path, cc) => {
    let n = 0;
    origin.on(path, () => {
      n += 1;
      return n === 1
        ? { status: 200, headers: { "content-type": "text/plain", "cache-control": cc }, body: "v1" }
        : { status: 503, headers: { "content-type": "text/plain" }, body: "down" };
    });
  };

  test("s-maxage implies proxy-revalidate: the route's stale-if-error does not apply", async () => {
    flaky("/sie/smaxage", "s-maxage=1");
    flaky("/sie/maxage", "max-age=1");
    expect((await get("/sie/smaxage")).cs.params.stored).toBe(true);
    expect((await get("/sie/maxage")).cs.params.stored).toBe(true);
    await sleep(2100);
    const strict = await get("/sie/smaxage");
    expect(strict.r.status).toBe(503);
    expect(strict.body).toBe("down");
    // Control: the same without s-maxage is served stale.
    const lax = await get("/sie/maxage");
    expect(lax.r.status).toBe(200);
    expect(lax.cs.params.fwd).toBe("stale");
  });

  test("s-maxage beside the origin's own stale-if-error: the origin's window holds", async () => {
    flaky("/sie/smaxage-sie", "s-maxage=1, stale-if-error=60");
    await get("/sie/smaxage-sie");
    await sleep(2100);
    const r = await get("/sie/smaxage-sie");
    expect(r.r.status).toBe(200);
    expect(r.cs.params.fwd).toBe("stale");
  });

  test("a stale must-revalidate entry is never served, not even on origin errors", async () => {
    flaky("/sie/must", "max-age=1, must-revalidate, stale-if-error=60");
    await get("/sie/must");
    await sleep(2100);
    const r = await get("/sie/must");
    expect(r.r.status).toBe(503);
    expect(r.body).toBe("down");
  });
});

describe("request Cache-Control", () => {
  test("no-store: the answer to that request is not stored, a stored one still answers", async () => {
    origin.on("/api/req-no-store", answer({ "cache-control": "max-age=600" }));
    const first = await get("/api/req-no-store", { headers: { "cache-control": "no-store" } });
    expect(first.cs.params.fwd).toBe("miss");
    expect(first.cs.params.stored).toBeUndefined();
    expect(first.cs.params.detail).toBe("request_no_store");
    const second = await get("/api/req-no-store");
    expect(second.cs.params.stored).toBe(true);
    const third = await untilCached("/api/req-no-store", { headers: { "cache-control": "no-store" } });
    expect(third.hit).toBe(true);
    expect(origin.hits("/api/req-no-store")).toBe(2);
  });

  test("only-if-cached: 504 without asking the origin, then the stored entry", async () => {
    origin.on("/api/oic", answer({ "cache-control": "max-age=600" }));
    const none = await get("/api/oic", { headers: { "cache-control": "only-if-cached" } });
    expect(none.r.status).toBe(504);
    expect(none.cs.params.detail).toBe("only_if_cached");
    expect(origin.hits("/api/oic")).toBe(0);
    await get("/api/oic");
    const hit = await untilCached("/api/oic", { headers: { "cache-control": "only-if-cached" } });
    expect(hit.r.status).toBe(200);
    expect(hit.body).toBe("body");
    expect(origin.hits("/api/oic")).toBe(1);
  });

  test("no-cache and max-age=0 are ignored by default", async () => {
    origin.on("/api/req-no-cache", answer({ "cache-control": "max-age=600" }));
    await get("/api/req-no-cache");
    await untilCached("/api/req-no-cache");
    for (const cc of ["no-cache", "max-age=0"]) {
      const r = await get("/api/req-no-cache", { headers: { "cache-control": cc } });
      expect(r.hit, cc).toBe(true);
    }
    expect(origin.hits("/api/req-no-cache")).toBe(1);
  });

  test("with honor_request_cache_control, no-cache and max-age=0 refetch", async () => {
    origin.on("/honor/x", answer({ "cache-control": "max-age=600" }));
    await get("/honor/x");
    expect((await untilCached("/honor/x")).hit).toBe(true);
    const before = origin.hits("/honor/x");
    for (const cc of ["no-cache", "max-age=0"]) {
      const r = await get("/honor/x", { headers: { "cache-control": cc } });
      expect(r.cs.params.fwd, cc).toBe("miss");
      expect(r.cs.params.detail, cc).toBe("request_cache_control");
    }
    expect(origin.hits("/honor/x")).toBe(before + 2);
    // A max-age the entry satisfies is a hit.
    const ok = await untilCached("/honor/x", { headers: { "cache-control": "max-age=600" } });
    expect(ok.hit).toBe(true);
  });
});

describe("Content-Length on hits", () => {
  const chunked = (body) => (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "cache-control": "max-age=600" });
    res.write(body.slice(0, 3));
    res.end(body.slice(3));
  };

  // `identity`: a client that accepts gzip gets a compressible body (text/*,
  // JSON...) compressed by the runtime, which sends it chunked, without
  // Content-Length (as Cloudflare's edge does). Uncompressed, a hit states its
  // length: the Cache API's copy and the memory tier's both know it, also when
  // the origin sent the body chunked.
  const identity = { headers: { "accept-encoding": "identity" } };

  test("Cache API and memory hits carry the body's length", async () => {
    origin.on("/api/len", answer({ "cache-control": "max-age=600" }, "0123456789"));
    origin.on("/api/len-chunked", chunked("abcdefghij"));
    for (const p of ["/api/len", "/api/len-chunked"]) {
      await get(p, identity);
      // The Cache API's copy: a worker without the memory tier.
      const hit = await untilHit(() => getFrom(noMemory, p, identity));
      expect(hit.hit, p).toBe(true);
      expect(hit.h.get("content-length"), p).toBe("10");
      expect(hit.body, p).toHaveLength(10);
      const mem = await untilMemory(p, identity);
      expect(mem.h.get("content-length"), p).toBe("10");
    }
  });

  test("a ranged hit carries the part's length", async () => {
    const body = "x".repeat(1000);
    origin.on("/media/len.bin", answer({ "content-type": "application/octet-stream", "cache-control": "max-age=600" }, body));
    await get("/media/len.bin");
    await untilCached("/media/len.bin");
    const part = await get("/media/len.bin", { headers: { range: "bytes=10-19", "accept-encoding": "identity" } });
    expect(part.r.status).toBe(206);
    expect(part.h.get("content-length")).toBe("10");
  });
});

describe("unsafe methods invalidate (RFC 9111 §4.4)", () => {
  test("a 3xx invalidates the URL and same-host Location / Content-Location, never another host's", async () => {
    for (const p of ["/api/inv-a", "/api/inv-b", "/api/inv-c", "/api/inv-other"]) {
      origin.on(p, answer({ "cache-control": "max-age=600" }));
    }
    await get("/api/inv-a");
    await get("/api/inv-b");
    await get("/api/inv-c");
    await get("/api/inv-other", {}, "https://other.example.com");
    await untilCached("/api/inv-a");
    await untilCached("/api/inv-b");
    await untilCached("/api/inv-c");
    expect((await untilHit(() => get("/api/inv-other", {}, "https://other.example.com"))).hit).toBe(true);
    origin.on("/api/inv-post", () => ({ status: 404, body: "" }));
    origin.on("/api/inv-a", (req) =>
      req.method === "POST"
        ? { status: 303, headers: { location: "inv-b", "content-location": "https://other.example.com/api/inv-other" }, body: "" }
        : { status: 200, headers: { "content-type": "text/plain", "cache-control": "max-age=600" }, body: "new" },
    );
    const post = await worker.fetch(BASE + "/api/inv-a", { method: "POST", body: "x", redirect: "manual" });
    await post.text();
    expect(post.status).toBe(303);
    expect((await get("/api/inv-a")).cs.params.fwd).toBe("miss");
    expect((await get("/api/inv-b")).cs.params.fwd).toBe("miss");
    expect((await get("/api/inv-c")).hit).toBe(true);
    expect((await get("/api/inv-other", {}, "https://other.example.com")).hit).toBe(true);
  });
});
