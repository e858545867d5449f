// End to end: revalidation with 304 (RFC 9111 §4.3) in the foreground, in
// stale-while-revalidate refreshes and through the memory tier; soft purges
// (served stale inside the route's windows while one request revalidates);
// an origin status the Fetch API refuses. TTLs are 2 s (at least 1 s fresh on a whole-second clock); waits 2.1 s.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  cacheStatus,
  DJANGO_DIR,
  freePort,
  purge,
  sleep,
  startDemoOrigin,
  startOrigin,
  startRoutedOrigin,
  startWorker,
} from "./harness.mjs";

let origin, worker;
beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker({
    origin: origin.url,
    // No skew allowance: an entry revalidated right after a soft purge is current.
    purge: { clock_skew: "0s" },
    memory: { max_bytes: 0 },
    routes: [
      // Kept 30 s past its TTL (stale-if-error): a stale miss revalidates in the foreground.
      { name: "fg", path: "/fg/*", ttl: "2s", stale_if_error: "30s", timeout: "1s" },
      { name: "swr", path: "/swr/*", ttl: "2s", stale_while_revalidate: "30s" },
      { name: "soft", path: "/soft/*", ttl: "60s", stale_while_revalidate: "30s" },
      { name: "softsie", path: "/softsie/*", ttl: "60s", stale_if_error: "30s", timeout: "1s" },
      { name: "plain", path: "/plain/*", ttl: "60s" },
      { name: "nowin", path: "/nowin/*", ttl: "2s", timeout: "1s" },
    ],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

const BASE = "https://api.example.com";
async function get(path, w = worker, headers = {}) {
  const r = await w.fetch(BASE + path, { headers });
  r.bodyText = await r.text();
  r.cs = cacheStatus(r);
  return r;
}

/**
 * An origin path with an ETag per version: answers 304 to a matching
 * If-None-Match, else 200 with body `v<version>` and `bytes` counting body
 * bytes sent. `state.version` bumps the content; `state.fail` answers it.
 */
function validated(p, extra = {}) {
  const state = { version: 1, bytes: 0, conditional: [], statuses: [], fail: null, headers: {} };
  origin.on(p, (req) => {
    state.conditional.push(req.headers["if-none-match"] ?? null);
    if (state.fail) {
      state.statuses.push(state.fail.status);
      return state.fail;
    }
    const etag = `"v${state.version}"`;
    const headers = { etag, "content-type": "text/plain", ...extra, ...state.headers };
    if (req.headers["if-none-match"] === etag) {
      state.statuses.push(304);
      return { status: 304, headers };
    }
    const body = `v${state.version}`.padEnd(2000, ".");
    state.bytes += body.length;
    state.statuses.push(200);
    return { status: 200, headers, body };
  });
  return state;
}

/** Waits until the origin has seen `count` requests for `p` (background work). */
async function originSaw(p, count) {
  for (let i = 0; i < 60 && origin.hits(p) < count; i++) await sleep(50);
  return origin.hits(p);
}

/** Repeats `get(p)` until `ok(r)`; returns the last response. */
async function until(p, ok) {
  let r;
  for (let i = 0; i < 40; i++) {
    r = await get(p);
    if (ok(r)) return r;
    await sleep(25);
  }
  return r;
}

test("a stale entry is revalidated with If-None-Match and a 304 serves the stored body", async () => {
  const s = validated("/fg/a");
  expect((await get("/fg/a")).bodyText.slice(0, 2)).toBe("v1");
  await until("/fg/a", (r) => r.cs.params.hit);
  await sleep(2100);
  s.headers = { "x-rev": "2" };
  const r = await get("/fg/a");
  expect(r.status).toBe(200);
  expect(r.bodyText.slice(0, 2)).toBe("v1");
  expect(r.bodyText.length).toBe(2000);
  expect(r.cs.params.fwd).toBe("stale");
  expect(r.cs.params["fwd-status"]).toBe("304");
  expect(r.cs.params.ttl).toBeDefined();
  // The 304's fields replace the stored ones.
  expect(r.headers.get("x-rev")).toBe("2");
  expect(s.conditional).toEqual([null, '"v1"']);
  expect(s.statuses).toEqual([200, 304]);
  // Stored again with new freshness: a hit, with the updated fields. (A 1 s
  // TTL on a whole-second clock may be stale again at once: then it is
  // revalidated again, still without a body.)
  const hit = await until("/fg/a", (x) => x.cs.params.hit);
  expect(hit.cs.params.hit).toBe(true);
  expect(hit.headers.get("x-rev")).toBe("2");
  expect(hit.bodyText.slice(0, 2)).toBe("v1");
  expect(s.statuses.slice(1).every((st) => st === 304)).toBe(true);
  expect(s.bytes).toBe(2000); // one body, sent once
});

test("a 200 to the conditional request replaces the entry", async () => {
  const s = validated("/fg/b");
  await get("/fg/b");
  await until("/fg/b", (r) => r.cs.params.hit);
  await sleep(2100);
  s.version = 2;
  const r = await get("/fg/b");
  expect(r.bodyText.slice(0, 2)).toBe("v2");
  expect(r.cs.params.fwd).toBe("miss");
  expect(r.cs.params["fwd-status"]).toBe("200");
  expect(s.conditional).toEqual([null, '"v1"']);
  const hit = await until("/fg/b", (x) => x.cs.params.hit);
  expect(hit.bodyText.slice(0, 2)).toBe("v2");
  expect(hit.headers.get("etag")).toBe('"v2"');
});

test("on a route without stale windows an entry with an ETag is kept, and revalidated once stale", async () => {
  const s = validated("/nowin/a");
  await get("/nowin/a");
  await until("/nowin/a", (r) => r.cs.params.hit);
  await sleep(2100);
  const r = await get("/nowin/a");
  expect(r.cs.params.fwd).toBe("stale");
  expect(r.cs.params["fwd-status"]).toBe("304");
  expect(r.bodyText.slice(0, 2)).toBe("v1");
  expect(s.conditional).toEqual([null, '"v1"']);
  expect(s.bytes).toBe(2000);
});

test("a client's own conditional headers are not sent to the origin; the edge answers 304 itself", async () => {
  const s = validated("/fg/c");
  await get("/fg/c", worker, { "if-none-match": '"v1"' });
  expect(s.conditional).toEqual([null]);
  await until("/fg/c", (r) => r.cs.params.hit);
  const r = await get("/fg/c", worker, { "if-none-match": '"v1"' });
  expect(r.status).toBe(304);
  expect(r.cs.params.hit).toBe(true);
  expect(origin.hits("/fg/c")).toBe(1);
});

test("a stale-while-revalidate refresh revalidates with a conditional request", async () => {
  const s = validated("/swr/a");
  await get("/swr/a");
  await until("/swr/a", (r) => r.cs.params.hit);
  await sleep(2100);
  s.headers = { "x-rev": "2" };
  const stale = await get("/swr/a");
  expect(stale.cs.params.hit).toBe(true);
  expect(stale.cs.params.detail).toBe("stale_while_revalidate");
  expect(await originSaw("/swr/a", 2)).toBeGreaterThanOrEqual(2);
  // (A 1 s TTL on a whole-second clock can make an earlier hit stale too: every
  // refresh after the first fetch is conditional and answered 304.)
  expect(s.conditional[0]).toBe(null);
  expect(s.conditional.slice(1).every((c) => c === '"v1"')).toBe(true);
  expect(s.statuses.slice(1).every((st) => st === 304)).toBe(true);
  // The refreshed copy (same body, the 304's fields) is in the cache.
  const fresh = await until("/swr/a", (r) => r.headers.get("x-rev") === "2");
  expect(fresh.headers.get("x-rev")).toBe("2");
  expect(fresh.bodyText.slice(0, 2)).toBe("v1");
  expect(s.bytes).toBe(2000);
});

test("a 304 revalidation refills the memory tier", async () => {
  const mem = await startWorker({
    origin: origin.url,
    routes: [{ name: "fg", path: "/mem/*", ttl: "2s", stale_if_error: "30s" }],
  });
  try {
    const s = validated("/mem/a");
    await get("/mem/a", mem);
    await until2(mem, "/mem/a", (r) => r.cs.params.detail === "memory");
    await sleep(2100);
    s.headers = { "x-rev": "2" };
    const r = await get("/mem/a", mem);
    expect(r.cs.params.fwd).toBe("stale");
    expect(r.cs.params["fwd-status"]).toBe("304");
    // The revalidated copy answers from memory, with the 304's fields.
    const m = await until2(mem, "/mem/a", (x) => x.cs.params.detail === "memory");
    expect(m.cs.params.detail).toBe("memory");
    expect(m.headers.get("x-rev")).toBe("2");
    expect(m.bodyText.slice(0, 2)).toBe("v1");
    expect(s.statuses).toEqual([200, 304]);
  } finally {
    await mem.dispose();
  }
});

async function until2(w, p, ok) {
  let r;
  for (let i = 0; i < 40; i++) {
    r = await get(p, w);
    if (ok(r)) return r;
    await sleep(25);
  }
  return r;
}

test("soft purge: served stale inside stale-while-revalidate while one request revalidates, then fresh", async () => {
  const s = validated("/soft/a");
  await get("/soft/a");
  await until("/soft/a", (r) => r.cs.params.hit);
  const receipt = await purge(worker, { tags: ["x"], urls: [`${BASE}/soft/a`], soft: true });
  expect(receipt.status).toBe(200);
  const body = await receipt.json();
  expect(body.invalidated.soft).toBe(true);
  expect(body.layers.local_delete.deleted).toBe(0);
  const stale = await Promise.all([get("/soft/a"), get("/soft/a"), get("/soft/a")]);
  for (const r of stale) {
    expect(r.cs.params.hit).toBe(true);
    expect(r.cs.params.detail).toBe("soft_purged");
    expect(r.bodyText.slice(0, 2)).toBe("v1");
  }
  // One background revalidation, conditional, answered 304.
  expect(await originSaw("/soft/a", 2)).toBe(2);
  await sleep(300);
  expect(origin.hits("/soft/a")).toBe(2);
  expect(s.conditional).toEqual([null, '"v1"']);
  const fresh = await until("/soft/a", (r) => r.cs.params.hit && !r.cs.params.detail);
  expect(fresh.cs.params.hit).toBe(true);
  expect(fresh.cs.params.detail).toBeUndefined();
  expect(fresh.bodyText.slice(0, 2)).toBe("v1");
  expect(s.bytes).toBe(2000);
});

test("soft purge outside any stale window is a miss", async () => {
  const s = validated("/plain/a");
  await get("/plain/a");
  await until("/plain/a", (r) => r.cs.params.hit);
  s.version = 2;
  expect((await purge(worker, { urls: [`${BASE}/plain/a`], soft: true })).status).toBe(200);
  const r = await get("/plain/a");
  expect(r.cs.params.hit).toBeUndefined();
  expect(r.cs.params.fwd).toBe("miss");
  expect(r.cs.params.detail).toBe("soft_purged");
  expect(r.bodyText.slice(0, 2)).toBe("v2");
});

test("soft purge with the origin down serves stale inside stale-if-error", async () => {
  const s = validated("/softsie/a");
  await get("/softsie/a");
  await until("/softsie/a", (r) => r.cs.params.hit);
  expect((await purge(worker, { urls: [`${BASE}/softsie/a`], soft: true })).status).toBe(200);
  s.fail = { status: 503, headers: { "content-type": "text/plain" }, body: "down" };
  const r = await get("/softsie/a");
  expect(r.status).toBe(200);
  expect(r.bodyText.slice(0, 2)).toBe("v1");
  expect(r.cs.params.fwd).toBe("stale");
  expect(r.cs.params.detail).toBe("origin_error");
  // The origin was asked (conditionally) first.
  expect(s.conditional).toEqual([null, '"v1"']);
});

test("hard purge is unchanged: a miss, no conditional request, not even inside stale-while-revalidate", async () => {
  const s = validated("/soft/hard");
  await get("/soft/hard");
  await until("/soft/hard", (r) => r.cs.params.hit);
  s.version = 2;
  const receipt = await (await purge(worker, { urls: [`${BASE}/soft/hard`] })).json();
  expect(receipt.invalidated.soft).toBe(false);
  const r = await get("/soft/hard");
  expect(r.cs.params.fwd).toBe("miss");
  expect(r.bodyText.slice(0, 2)).toBe("v2");
  expect(s.conditional).toEqual([null, null]);
});

test("an origin status the Fetch API refuses answers 502, or the stale entry inside stale-if-error", async () => {
  const s = validated("/fg/bad");
  await get("/fg/bad");
  await until("/fg/bad", (r) => r.cs.params.hit);
  await sleep(2100);
  s.fail = { status: 600, headers: { "content-type": "text/plain" }, body: "odd" };
  const stale = await get("/fg/bad");
  expect(stale.status).toBe(200);
  expect(stale.bodyText.slice(0, 2)).toBe("v1");
  expect(stale.cs.params.fwd).toBe("stale");
  expect(stale.cs.params.detail).toBe("origin_invalid");
  // Without a stored entry to stand in: the worker's 502, not a 500.
  origin.on("/nowin/bad", () => ({ status: 600, headers: { "content-type": "text/plain" }, body: "odd" }));
  const r = await get("/nowin/bad");
  expect(r.status).toBe(502);
  expect(r.cs.params.detail).toBe("origin_invalid");
  // Passed through (no route): the same.
  origin.on("/none/bad", () => ({ status: 600, headers: { "content-type": "text/plain" }, body: "odd" }));
  const p = await get("/none/bad");
  expect(p.status).toBe(502);
  expect(p.cs.params.detail).toBe("origin_invalid");
});

describe("the Django demo (ConditionalGetMiddleware ETags)", () => {
  let django, relay, w;
  beforeAll(async () => {
    execFileSync("bash", [path.join(DJANGO_DIR, "setup.sh")], { stdio: "ignore" });
    const port = await freePort();
    django = await startDemoOrigin({ port });
    // Between the worker and Django: forwards each request as it came and counts
    // what Django answered (status, conditional header, body bytes).
    relay = await startOrigin(async (rec) => {
      const headers = Object.fromEntries(Object.entries(rec.headers).filter(([k]) => !["host", "connection"].includes(k)));
      const r = await fetch(`${django.url}${rec.url}`, { headers, redirect: "manual" });
      const body = Buffer.from(await r.arrayBuffer());
      rec.answer = { status: r.status, bytes: body.length, ifNoneMatch: rec.headers["if-none-match"] ?? null };
      const out = {};
      // fetch() hands over the body decoded: its coding and length go with it.
      for (const [k, v] of r.headers) if (!["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"].includes(k)) out[k] = v;
      return { status: r.status, headers: out, body };
    });
    w = await startWorker({
      origin: relay.url,
      routes: [
        {
          name: "course-list",
          path: "/api/courses/",
          ttl: "2s", // the shipped route, with a shorter TTL: no stale windows
          tags: ["course_list"],
          query: { allow: ["search", "level", "course_start_date", "page", "perpage"], defaults: { page: "1" } },
          vary: ["accept", "accept-language"],
        },
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
    await relay?.close();
    django?.kill();
  });

  test("an expired list entry is revalidated: Django answers 304 and no body crosses", async () => {
    const read = async () => {
      const r = await w.fetch("http://127.0.0.1/api/courses/", { headers: { accept: "application/json" } });
      return { r, cs: cacheStatus(r), body: await r.text() };
    };
    const first = await read();
    expect(first.r.status).toBe(200);
    expect(first.r.headers.get("etag")).toBeTruthy();
    for (let i = 0; i < 40 && !(await read()).cs.params.hit; i++) await sleep(25);
    await sleep(2100);
    const before = relay.requests.length;
    const again = await read();
    expect(again.cs.params.fwd).toBe("stale");
    expect(again.cs.params["fwd-status"]).toBe("304");
    expect(again.body).toBe(first.body);
    const asked = relay.requests.slice(before).map((q) => q.answer);
    expect(asked).toEqual([{ status: 304, bytes: 0, ifNoneMatch: first.r.headers.get("etag") }]);
    // Against the first fetch: the whole list crossed once.
    expect(relay.requests[0].answer.bytes).toBe(Buffer.byteLength(first.body));
  });
});
