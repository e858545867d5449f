// End to end: poisoning and deception armor, request bodies on GET, and request
// size limits (issue: caching behaviour).
import http from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cacheStatus, startRoutedOrigin, startWorker } from "./harness.mjs";

let origin, worker;
beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker({
    origin: origin.url,
    limits: { max_url_bytes: 512, max_query_params: 5, max_headers: 40, max_header_bytes: 4096 },
    routes: [
      { name: "courses", path: "/api/courses/*", ttl: "15m" },
      { name: "profile", path: "/api/profile/*", ttl: "15m" },
      { name: "media", path: "/media/*", kind: "media", ttl: "1h" },
    ],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

const BASE = "https://api.example.com";
async function get(path, headers = {}) {
  const r = await worker.fetch(BASE + path, { headers });
  r.bodyText = await r.text();
  return r;
}
const cacheable = (body = "ok", type = "text/plain") => () => ({
  headers: { "content-type": type, "cache-control": "public, max-age=600" },
  body,
});

const REWRITING = {
  "x-forwarded-host": "evil.example",
  "x-forwarded-scheme": "http",
  "x-host": "evil.example",
  forwarded: "host=evil.example;proto=http",
  "x-original-url": "/admin/",
  "x-rewrite-url": "/admin/",
  "x-http-method-override": "DELETE",
  "x-http-method": "DELETE",
  "x-method-override": "DELETE",
};

test("on a cacheable route the origin never receives headers that rewrite host, path or method", async () => {
  origin.on("/api/courses/poison", cacheable());
  const r = await get("/api/courses/poison", REWRITING);
  expect(cacheStatus(r).params.ttl).toBeDefined();
  const seen = origin.requests.find((q) => q.url === "/api/courses/poison");
  expect(seen.method).toBe("GET");
  // The public host and scheme the origin is told are ours (the keyed host), never the client's.
  const ours = { "x-forwarded-host": "api.example.com", "x-forwarded-proto": "https" };
  for (const name of Object.keys(REWRITING)) expect(seen.headers[name], name).toBe(ours[name]);
  expect(seen.headers["x-forwarded-proto"]).toBe("https");
  expect(seen.headers.host).toBe(new URL(origin.url).host);
});

test("a pass-through tells the origin the public host too, never the client's claim", async () => {
  origin.on("/elsewhere/forwarded", () => ({ status: 200, body: "ok" }));
  const r = await worker.fetch("https://API.Example.com/elsewhere/forwarded", {
    method: "POST",
    headers: { "x-forwarded-host": "evil.example", "x-forwarded-proto": "http" },
    body: "x",
  });
  await r.text();
  const seen = origin.requests.find((q) => q.url === "/elsewhere/forwarded");
  expect(seen.headers["x-forwarded-host"]).toBe("api.example.com");
  expect(seen.headers["x-forwarded-proto"]).toBe("https");
});

test("a GET with a body passes through uncached and is never stored", async () => {
  origin.on("/api/courses/with-body", (req) => ({
    headers: { "content-type": "text/plain", "cache-control": "public, max-age=600" },
    body: `got:${req.body.toString()}`,
  }));
  // fetch() refuses a GET with a body, so speak HTTP to the worker directly.
  const url = await worker.mf.ready;
  const send = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        new URL("/api/courses/with-body", url),
        { method: "GET", agent: false, headers: { "content-type": "text/plain", "content-length": "5" } },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on("error", reject);
      req.end("hello");
    });
  for (let i = 0; i < 2; i++) {
    const r = await send();
    expect(r.status).toBe(200);
    expect(r.headers["cache-status"]).toBe("edgecache; fwd=bypass; fwd-status=200; detail=request_body");
  }
  expect(origin.hits("/api/courses/with-body")).toBe(2);
  // The Fetch API cannot send a GET with a body: it goes forward without it.
  for (const q of origin.requests.filter((q) => q.url === "/api/courses/with-body")) {
    expect(q.method).toBe("GET");
    expect(q.body.length).toBe(0);
  }
  // and the body-less GET that follows is a miss: nothing was stored for it
  const plain = await get("/api/courses/with-body");
  expect(cacheStatus(plain).params.fwd).toBe("miss");
});

test("cache deception: a static-looking path outside any route stores nothing", async () => {
  origin.on("/api/account/x.css", () => ({
    headers: { "content-type": "text/css", "cache-control": "public, max-age=600" },
    body: "account of sessionid",
  }));
  for (let i = 0; i < 2; i++) {
    const r = await get("/api/account/x.css", { cookie: "sessionid=victim" });
    expect(cacheStatus(r).params.fwd).toBe("uri-miss");
    expect(cacheStatus(r).params.stored).toBeUndefined();
  }
  expect(origin.hits("/api/account/x.css")).toBe(2);
});

test("cache deception: a static-looking path on an API route with a session stores nothing", async () => {
  origin.on("/api/profile/x.css", (req) => ({
    headers: { "content-type": "text/css", "cache-control": "public, max-age=600" },
    body: `profile of ${req.headers.cookie ?? "anonymous"}`,
  }));
  const victim = await get("/api/profile/x.css", { cookie: "sessionid=victim" });
  expect(cacheStatus(victim).params.fwd).toBe("bypass");
  expect(cacheStatus(victim).params.detail).toBe("credentials");
  const attacker = await get("/api/profile/x.css");
  expect(attacker.bodyText).toBe("profile of anonymous");
});

test("paths with ; or escaped ; # ? NUL or / are never stored", async () => {
  const paths = [
    "/media/a.png;x.css",
    "/media/a%3Bx.png",
    "/media/a%23x.png",
    "/media/a%3Fx.png",
    "/media/a%00.png",
    "/media/..%2fapi%2fcourses%2fx.png",
  ];
  for (const p of paths) {
    origin.on(new URL(p, BASE).pathname, cacheable("png", "image/png"));
    for (let i = 0; i < 2; i++) {
      const r = await get(p);
      expect(cacheStatus(r).params.fwd, p).toBe("bypass");
      expect(cacheStatus(r).params.detail, p).toBe("suspicious_path");
      expect(cacheStatus(r).params.stored, p).toBeUndefined();
    }
  }
  expect(origin.requests.filter((q) => q.url.startsWith("/media/")).length).toBe(paths.length * 2);
});

test("an over-long URL is answered 414 by the worker, never forwarded", async () => {
  const r = await get(`/api/courses/long?q=${"a".repeat(600)}`);
  expect(r.status).toBe(414);
  expect(r.headers.get("cache-control")).toBe("no-store");
  expect(cacheStatus(r).raw).toBe("edgecache; fwd=bypass; detail=limits");
  expect(origin.hits("/api/courses/long")).toBe(0);
});

test("too many query parameters are answered 400 by the worker, never forwarded", async () => {
  const r = await get("/api/courses/params?a=1&b=2&c=3&d=4&e=5&f=6");
  expect(r.status).toBe(400);
  expect(cacheStatus(r).params.detail).toBe("limits");
  expect(origin.hits("/api/courses/params")).toBe(0);
});

test("too many request headers are answered 431 by the worker, never forwarded", async () => {
  const many = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`x-h${i}`, "1"]));
  const r = await get("/api/courses/headers", many);
  expect(r.status).toBe(431);
  expect(cacheStatus(r).params.detail).toBe("limits");
  expect(origin.hits("/api/courses/headers")).toBe(0);
});

test("oversized request headers are answered 431 by the worker, never forwarded", async () => {
  const r = await get("/api/courses/big-header", { "x-big": "b".repeat(5000) });
  expect(r.status).toBe(431);
  expect(origin.hits("/api/courses/big-header")).toBe(0);
  // and the same path within limits is served normally
  const ok = await get("/api/courses/big-header");
  expect(ok.status).toBe(200);
});
