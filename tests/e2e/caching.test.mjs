// End to end: what is stored, how it is served, and what unsafe methods do
// (issue: caching behaviour). Each test uses its own paths, so entries never collide.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, startRoutedOrigin, startWorker } from "./harness.mjs";

let origin, worker, debugWorker;
const config = (extra = {}) => ({
  origin: origin.url,
  routes: [
    { name: "api", path: "/api/*", ttl: "15m" },
    { name: "errs", path: "/errs/*", ttl: "15m", status_ttl: { "503": "1m", "404": "30s" } },
    { name: "ovr", path: "/ovr/*", ttl: "1m", ttl_mode: "override" },
    { name: "bcc", path: "/bcc/*", ttl: "15m", browser_cache_control: "no-cache" },
    { name: "lang", path: "/lang/*", ttl: "15m", vary: ["accept-language"] },
  ],
  ...extra,
});

beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker(config());
  debugWorker = await startWorker(config({ debug: true }));
});
afterAll(async () => {
  await worker?.dispose();
  await debugWorker?.dispose();
  await origin?.close();
});

const BASE = "https://api.example.com";
const get = (path, init = {}) => worker.fetch(BASE + path, init);
/** GETs `path` `times` times, reading each body; returns the responses. */
async function getTimes(path, times = 2, init = {}) {
  const out = [];
  for (let i = 0; i < times; i++) {
    const r = await get(path, init);
    r.bodyText = await r.text();
    out.push(r);
  }
  return out;
}
const answer = (headers, body = "body", status = 200) => () => ({
  status,
  headers: { "content-type": "text/plain", ...headers },
  body,
});
/** The stored copy of `keyUrl`, as the Cache API holds it (internal headers included). */
async function storedCopy(w, keyUrl) {
  const caches = await w.mf.getCaches();
  return caches.default.match(keyUrl);
}

describe("storing", () => {
  test("no-store in any case, even beside max-age, is never stored", async () => {
    for (const [i, cc] of ["no-store", "max-age=600, No-Store", "NO-STORE, s-maxage=600"].entries()) {
      const p = `/api/no-store-${i}`;
      origin.on(p, answer({ "cache-control": cc }));
      const rs = await getTimes(p);
      for (const r of rs) {
        expect(cacheStatus(r).params.fwd, cc).toBe("miss");
        expect(cacheStatus(r).params.stored, cc).toBeUndefined();
        expect(cacheStatus(r).params.detail, cc).toBe("no_store");
      }
      expect(origin.hits(p), cc).toBe(2);
    }
  });

  test("private is not stored", async () => {
    origin.on("/api/private", answer({ "cache-control": "private, max-age=600" }));
    const rs = await getTimes("/api/private");
    expect(cacheStatus(rs[1]).params.detail).toBe("private");
    expect(cacheStatus(rs[1]).params.stored).toBeUndefined();
    expect(origin.hits("/api/private")).toBe(2);
  });

  test('private="Set-Cookie" is stored without Set-Cookie; hits and the stored copy never carry it', async () => {
    origin.on("/api/private-cookie", answer({ "cache-control": 'max-age=600, private="Set-Cookie"', "set-cookie": "csrftoken=abc; Path=/" }));
    const [first, second] = await getTimes("/api/private-cookie");
    expect(cacheStatus(first).params.ttl).toBeDefined();
    // The first answer is the origin's answer to this very client: its cookie reaches it.
    expect(first.headers.get("set-cookie")).toContain("csrftoken=abc");
    expect(cacheStatus(second).params.hit).toBe(true);
    expect(second.headers.get("set-cookie")).toBeNull();
    expect(second.bodyText).toBe("body");
    const stored = await storedCopy(worker, BASE + "/api/private-cookie");
    expect(stored).toBeTruthy();
    expect(stored.headers.get("set-cookie")).toBeNull();
    await stored.text();
    expect(origin.hits("/api/private-cookie")).toBe(1);
  });

  test("any Set-Cookie is not stored", async () => {
    origin.on("/api/set-cookie", answer({ "cache-control": "public, max-age=600", "set-cookie": "a=b" }));
    const rs = await getTimes("/api/set-cookie");
    expect(cacheStatus(rs[1]).params.detail).toBe("set_cookie");
    expect(origin.hits("/api/set-cookie")).toBe(2);
    expect(await storedCopy(worker, BASE + "/api/set-cookie")).toBeUndefined();
  });

  test("Vary: * is not stored", async () => {
    origin.on("/api/vary-star", answer({ "cache-control": "max-age=600", vary: "*" }));
    const rs = await getTimes("/api/vary-star");
    expect(cacheStatus(rs[1]).params.detail).toBe("vary_star");
    expect(origin.hits("/api/vary-star")).toBe(2);
  });

  test("Vary on a header the route does not declare is not stored", async () => {
    origin.on("/api/vary-undeclared", answer({ "cache-control": "max-age=600", vary: "Accept-Language" }));
    const rs = await getTimes("/api/vary-undeclared");
    expect(cacheStatus(rs[1]).params.detail).toBe("vary_undeclared");
    expect(origin.hits("/api/vary-undeclared")).toBe(2);
  });

  test("Vary on a header the route declares is stored, one entry per value", async () => {
    origin.on("/lang/x", (req) => ({
      headers: { "content-type": "text/plain", vary: "Accept-Language", "cache-control": "max-age=600" },
      body: `lang=${req.headers["accept-language"]}`,
    }));
    const [en1, en2] = await getTimes("/lang/x", 2, { headers: { "accept-language": "en" } });
    const [fr1] = await getTimes("/lang/x", 1, { headers: { "accept-language": "fr" } });
    expect(cacheStatus(en1).params.ttl).toBeDefined();
    expect(cacheStatus(en2).params.hit).toBe(true);
    expect(en2.bodyText).toBe("lang=en");
    expect(fr1.bodyText).toBe("lang=fr");
    expect(origin.hits("/lang/x")).toBe(2);
  });

  test("Vary: Cookie follows the credential rules: anonymous answers are stored, session requests bypass", async () => {
    origin.on("/api/vary-cookie", (req) => ({
      headers: { "content-type": "text/plain", vary: "Cookie", "cache-control": "max-age=600" },
      body: `cookie=${req.headers.cookie ?? "none"}`,
    }));
    const [a1, a2] = await getTimes("/api/vary-cookie");
    expect(cacheStatus(a1).params.ttl).toBeDefined();
    expect(cacheStatus(a2).params.hit).toBe(true);
    expect(a2.bodyText).toBe("cookie=none");
    const [s] = await getTimes("/api/vary-cookie", 1, { headers: { cookie: "sessionid=victim" } });
    expect(cacheStatus(s).params.fwd).toBe("bypass");
    expect(s.bodyText).toBe("cookie=sessionid=victim");
    const [a3] = await getTimes("/api/vary-cookie");
    expect(cacheStatus(a3).params.hit).toBe(true);
    expect(a3.bodyText).toBe("cookie=none");
    expect(origin.hits("/api/vary-cookie")).toBe(2);
  });

  test("404 is stored with the route ttl when status_ttl does not name it", async () => {
    origin.on("/api/missing", answer({}, "nope", 404));
    const [a, b] = await getTimes("/api/missing");
    expect(a.status).toBe(404);
    expect(cacheStatus(a).params.ttl).toBeDefined();
    expect(cacheStatus(a).params.ttl).toBe("900");
    expect(b.status).toBe(404);
    expect(cacheStatus(b).params.hit).toBe(true);
    expect(origin.hits("/api/missing")).toBe(1);
  });

  test("404 is stored for the status_ttl that names it", async () => {
    origin.on("/errs/missing", answer({ "cache-control": "max-age=600" }, "nope", 404));
    const [a, b] = await getTimes("/errs/missing");
    expect(cacheStatus(a).params.ttl).toBe("30");
    expect(cacheStatus(b).params.hit).toBe(true);
    expect(origin.hits("/errs/missing")).toBe(1);
  });

  test("400, 403, 500 and 503 are never stored unless status_ttl names them", async () => {
    for (const status of [400, 403, 500, 503]) {
      const p = `/api/status-${status}`;
      origin.on(p, answer({ "cache-control": "public, max-age=600" }, "err", status));
      const rs = await getTimes(p);
      for (const r of rs) {
        expect(r.status).toBe(status);
        expect(cacheStatus(r).params.detail, String(status)).toBe("status_not_storable");
        expect(cacheStatus(r).params["fwd-status"]).toBe(String(status));
      }
      expect(origin.hits(p), String(status)).toBe(2);
    }
  });

  test("a status named in status_ttl is stored for that long", async () => {
    origin.on("/errs/unavailable", answer({}, "down", 503));
    const [a, b] = await getTimes("/errs/unavailable");
    expect(a.status).toBe(503);
    expect(cacheStatus(a).params.ttl).toBeDefined();
    expect(cacheStatus(a).params.ttl).toBe("60");
    expect(b.status).toBe(503);
    expect(cacheStatus(b).params.hit).toBe(true);
    expect(origin.hits("/errs/unavailable")).toBe(1);
  });

  test("respect mode: s-maxage wins over max-age", async () => {
    origin.on("/api/smaxage", answer({ "cache-control": "max-age=5, s-maxage=120" }));
    const [a] = await getTimes("/api/smaxage", 1);
    // One second less when a second ticked between the origin's Date and our
    // clock: the apparent age (RFC 9111 §4.2.3).
    expect(["119", "120"]).toContain(cacheStatus(a).params.ttl);
  });

  test("respect mode: the origin's lifetime is capped by the route ttl", async () => {
    origin.on("/api/long", answer({ "cache-control": "max-age=99999" }));
    const [a] = await getTimes("/api/long", 1);
    expect(cacheStatus(a).params.ttl).toBe("900");
  });

  test("respect mode: without an origin lifetime the route ttl applies", async () => {
    origin.on("/api/no-cc", answer({}));
    const [a] = await getTimes("/api/no-cc", 1);
    expect(cacheStatus(a).params.ttl).toBe("900");
  });

  test("override mode: the route ttl replaces the origin's lifetime", async () => {
    origin.on("/ovr/short", answer({ "cache-control": "max-age=5, s-maxage=7" }));
    const [a, b] = await getTimes("/ovr/short");
    expect(cacheStatus(a).params.ttl).toBe("60");
    expect(cacheStatus(b).params.hit).toBe(true);
  });

  test("override mode still never stores no-store", async () => {
    origin.on("/ovr/no-store", answer({ "cache-control": "no-store" }));
    const rs = await getTimes("/ovr/no-store");
    expect(cacheStatus(rs[1]).params.detail).toBe("no_store");
    expect(origin.hits("/ovr/no-store")).toBe(2);
  });
});

describe("what the browser is told", () => {
  test("Cache-Control reaches the client as the origin sent it, s-maxage included, on the miss and on hits", async () => {
    origin.on("/api/downstream", answer({ "cache-control": "public, max-age=5, s-maxage=120" }));
    const [a, b] = await getTimes("/api/downstream");
    expect(a.headers.get("cache-control")).toBe("public, max-age=5, s-maxage=120");
    expect(b.headers.get("cache-control")).toBe("public, max-age=5, s-maxage=120");
  });

  test("browser_cache_control replaces the Cache-Control clients see", async () => {
    origin.on("/bcc/x", answer({ "cache-control": "public, max-age=600" }));
    const [a, b] = await getTimes("/bcc/x");
    expect(a.headers.get("cache-control")).toBe("no-cache");
    expect(cacheStatus(b).params.hit).toBe(true);
    expect(b.headers.get("cache-control")).toBe("no-cache");
  });

  test("internal x-edgecache- headers never reach the client", async () => {
    origin.on("/api/internal", answer({ "cache-control": "max-age=600" }));
    for (const r of await getTimes("/api/internal")) {
      for (const [name] of r.headers) expect(name.startsWith("x-edgecache-"), name).toBe(false);
    }
  });
});

describe("serving", () => {
  test("every hit carries Age, counting from when it was stored", async () => {
    origin.on("/api/age", answer({ "cache-control": "max-age=600" }));
    const [, hit] = await getTimes("/api/age");
    expect(cacheStatus(hit).params.hit).toBe(true);
    expect(hit.headers.get("age")).toMatch(/^\d+$/);
    expect(Number(hit.headers.get("age"))).toBeLessThan(5);
  });

  test("every response carries Cache-Status: miss, hit, uri-miss, bypass, method", async () => {
    origin.on("/api/status-all", answer({ "cache-control": "max-age=600" }));
    const [miss, hit] = await getTimes("/api/status-all");
    // ttl=599 when a second ticked between the origin's Date and our clock.
    expect(cacheStatus(miss).raw).toMatch(/^edgecache; fwd=miss; fwd-status=200; ttl=(599|600)$/);
    // From the Cache API or, once kept there, the memory tier (memory.test.mjs).
    expect(cacheStatus(hit).raw).toMatch(/^edgecache; hit; ttl=\d+(; detail=memory)?$/);
    const [uriMiss] = await getTimes("/elsewhere", 1);
    expect(cacheStatus(uriMiss).raw).toBe("edgecache; fwd=uri-miss; fwd-status=200; detail=no_route");
    const [bypass] = await getTimes("/api/status-all", 1, { headers: { authorization: "Token x" } });
    expect(cacheStatus(bypass).raw).toBe("edgecache; fwd=bypass; fwd-status=200; detail=credentials");
    const post = await get("/api/status-all-post", { method: "POST", body: "x" });
    await post.text();
    expect(cacheStatus(post).raw).toBe("edgecache; fwd=method; fwd-status=200; detail=method");
  });

  test("key= appears in Cache-Status only when debug is on", async () => {
    origin.on("/api/debug-key", answer({ "cache-control": "max-age=600" }));
    for (const r of await getTimes("/api/debug-key?b=2&a=1")) {
      expect(cacheStatus(r).params.key).toBeUndefined();
    }
    const seen = [];
    for (let i = 0; i < 2; i++) {
      const r = await debugWorker.fetch(BASE + "/api/debug-key?b=2&a=1");
      await r.text();
      seen.push(cacheStatus(r));
    }
    expect(seen[0].params.fwd).toBe("miss");
    expect(seen[1].params.hit).toBe(true);
    for (const cs of seen) expect(cs.params.key).toBe(BASE + "/api/debug-key?a=1&b=2");
  });

  test("HEAD is served from the GET entry, without a body", async () => {
    origin.on("/api/head", answer({ "cache-control": "max-age=600" }, "the body"));
    await getTimes("/api/head", 1);
    const h = await get("/api/head", { method: "HEAD" });
    expect(h.status).toBe(200);
    expect(cacheStatus(h).params.hit).toBe(true);
    expect(await h.text()).toBe("");
    expect(origin.hits("/api/head")).toBe(1);
  });

  test("a HEAD miss fills the GET entry", async () => {
    origin.on("/api/head-first", answer({ "cache-control": "max-age=600" }, "filled by head"));
    const h = await get("/api/head-first", { method: "HEAD" });
    expect(await h.text()).toBe("");
    expect(cacheStatus(h).params.ttl).toBeDefined();
    expect(origin.requests.find((r) => r.url === "/api/head-first").method).toBe("GET");
    const [g] = await getTimes("/api/head-first", 1);
    expect(cacheStatus(g).params.hit).toBe(true);
    expect(g.bodyText).toBe("filled by head");
    expect(origin.hits("/api/head-first")).toBe(1);
  });

  test("If-None-Match matching the stored ETag answers 304 from the edge", async () => {
    origin.on("/api/etag", answer({ "cache-control": "max-age=600", etag: '"v1"' }));
    await getTimes("/api/etag", 1);
    const r = await get("/api/etag", { headers: { "if-none-match": 'W/"v0", "v1"' } });
    expect(r.status).toBe(304);
    expect(await r.text()).toBe("");
    expect(r.headers.get("etag")).toBe('"v1"');
    expect(cacheStatus(r).params.hit).toBe(true);
    const other = await get("/api/etag", { headers: { "if-none-match": '"v2"' } });
    expect(other.status).toBe(200);
    expect(await other.text()).toBe("body");
    expect(origin.hits("/api/etag")).toBe(1);
  });

  test("If-Modified-Since at or after the stored Last-Modified answers 304 from the edge", async () => {
    const lm = "Tue, 01 Apr 2025 10:00:00 GMT";
    origin.on("/api/lm", answer({ "cache-control": "max-age=600", "last-modified": lm }));
    await getTimes("/api/lm", 1);
    const r = await get("/api/lm", { headers: { "if-modified-since": lm } });
    expect(r.status).toBe(304);
    expect(cacheStatus(r).params.hit).toBe(true);
    const older = await get("/api/lm", { headers: { "if-modified-since": "Mon, 31 Mar 2025 10:00:00 GMT" } });
    expect(older.status).toBe(200);
    expect(await older.text()).toBe("body");
    expect(origin.hits("/api/lm")).toBe(1);
  });
});

describe("unsafe methods", () => {
  test("POST passes through with its body and headers intact", async () => {
    origin.on("/api/post-through", (req) => ({
      status: 201,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ got: req.body.toString(), ct: req.headers["content-type"], x: req.headers["x-custom"], auth: req.headers.authorization }),
    }));
    const r = await get("/api/post-through", {
      method: "POST",
      headers: { "content-type": "application/json", "x-custom": "kept", authorization: "Token t" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ got: '{"a":1}', ct: "application/json", x: "kept", auth: "Token t" });
    const rec = origin.requests.find((q) => q.url === "/api/post-through");
    expect(rec.method).toBe("POST");
  });

  test("a method the runtime does not name (PROPFIND, PURGE, QUERY) passes through as sent and invalidates", async () => {
    let v = 0;
    origin.on("/api/custom-method", (req) =>
      req.method === "GET"
        ? { headers: { "content-type": "text/plain", "cache-control": "max-age=600" }, body: `get${++v}` }
        : { status: 207, headers: { "content-type": "text/plain" }, body: `${req.method}:${req.body.toString()}` },
    );
    const [, hit] = await getTimes("/api/custom-method");
    expect(cacheStatus(hit).params.hit).toBe(true);
    for (const method of ["PROPFIND", "PURGE", "QUERY"]) {
      const r = await get("/api/custom-method", { method, body: "q=1" });
      expect(r.status, method).toBe(207);
      expect(await r.text(), method).toBe(`${method}:q=1`);
      expect(cacheStatus(r).params.fwd, method).toBe("method");
      expect(origin.requests.filter((q) => q.method === method).length, method).toBe(1);
      // Unknown methods are unsafe (RFC 9110 §9.2.1): the entry is invalidated.
      const after = await get("/api/custom-method");
      expect(cacheStatus(after).params.hit, method).toBeUndefined();
      await after.text();
    }
    // Outside any route too: the origin gets the method as sent.
    const r = await get("/elsewhere-custom", { method: "PROPFIND", body: "x" });
    await r.text();
    expect(origin.requests.find((q) => q.url === "/elsewhere-custom").method).toBe("PROPFIND");
  });

  test("a 2xx answer to an unsafe method invalidates the stored entry", async () => {
    origin.on("/api/invalidate", (req) =>
      req.method === "GET"
        ? { headers: { "content-type": "text/plain", "cache-control": "max-age=600" }, body: `get` }
        : { status: 201, body: "created" },
    );
    const [a, b] = await getTimes("/api/invalidate");
    expect(cacheStatus(a).params.ttl).toBeDefined();
    expect(cacheStatus(b).params.hit).toBe(true);
    const post = await get("/api/invalidate", { method: "POST", body: "x" });
    expect(post.status).toBe(201);
    await post.text();
    const [c] = await getTimes("/api/invalidate", 1);
    expect(cacheStatus(c).params.fwd).toBe("miss");
    expect(origin.requests.filter((q) => q.url === "/api/invalidate" && q.method === "GET").length).toBe(2);
  });

  test("a failed unsafe request leaves the stored entry alone", async () => {
    origin.on("/api/no-invalidate", (req) =>
      req.method === "GET"
        ? { headers: { "content-type": "text/plain", "cache-control": "max-age=600" }, body: `get` }
        : { status: 400, body: "bad" },
    );
    await getTimes("/api/no-invalidate", 1);
    const del = await get("/api/no-invalidate", { method: "DELETE" });
    expect(del.status).toBe(400);
    await del.text();
    const [c] = await getTimes("/api/no-invalidate", 1);
    expect(cacheStatus(c).params.hit).toBe(true);
  });
});
