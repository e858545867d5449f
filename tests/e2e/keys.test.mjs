// End to end: canonical keys decide what is one entry (issue: keys and config).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { cacheStatus, SECRETS, startOrigin, startWorker } from "./harness.mjs";

let origin, worker;
const config = () => ({
  origin: origin.url,
  routes: [
    {
      name: "course-list",
      path: "/api/courses/",
      ttl: "15m",
      tags: ["course_list"],
      query: {
        allow: ["search", "level", "course_start_date", "page", "perpage", "id"],
        defaults: { page: "1" },
        clamp: { perpage: [1, 10] },
        lowercase: ["level"],
      },
      vary: ["accept-language"],
    },
    { name: "course-detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"] },
    { name: "me", path: "/api/me/", ttl: "1m", per_user: true },
  ],
});

// The origin echoes what it received, so a test can see which request produced a body.
beforeAll(async () => {
  let n = 0;
  origin = await startOrigin((req) => ({
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ n: ++n, url: req.url, auth: req.headers.authorization ?? null, lang: req.headers["accept-language"] ?? null }),
  }));
  worker = await startWorker(config());
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});
beforeEach(() => {
  origin.requests.length = 0;
});

const get = (path, headers = {}) => worker.fetch(`https://api.example.com${path}`, { headers });

test("a miss then a hit, with the origin's body and RFC 9211 Cache-Status", async () => {
  const a = await get("/api/courses/?search=miss-then-hit");
  const bodyA = await a.text();
  expect(a.status).toBe(200);
  expect(cacheStatus(a).name).toBe("edgecache");
  expect(cacheStatus(a).params.fwd).toBe("miss");
  expect(cacheStatus(a).params.ttl).toBeDefined();
  const b = await get("/api/courses/?search=miss-then-hit");
  expect(cacheStatus(b).params.hit).toBe(true);
  expect(await b.text()).toBe(bodyA);
  expect(origin.requests.length).toBe(1);
  expect(Number(b.headers.get("age"))).toBeGreaterThanOrEqual(0);
});

test("differently spelled URLs share one stored entry", async () => {
  const first = await get("/api/courses/?level=Beginner&utm_source=news&page=1&perpage=500&search=a+b");
  const body = await first.text();
  expect(cacheStatus(first).params.fwd).toBe("miss");
  // The origin is asked exactly what the key says (so no unkeyed parameter can shape the entry).
  expect(origin.requests[0].url).toBe("/api/courses/?level=beginner&perpage=10&search=a%20b");
  for (const spelling of [
    "/api/courses/?search=a%20b&perpage=10&level=beginner",
    "/api/courses/?perpage=11&LEVEL=x&level=BEGINNER&search=a+b&fbclid=1",
    "/api/courses/?%6cevel=beginner&search=a%20b&perpage=99",
  ]) {
    const r = await get(spelling);
    expect(cacheStatus(r).params.hit, spelling).toBe(true);
    expect(await r.text()).toBe(body);
  }
  expect(origin.requests.length).toBe(1);
});

test("repeated parameters keep their order: ?id=1&id=2 and ?id=2&id=1 are two entries", async () => {
  await (await get("/api/courses/?id=1&id=2")).text();
  const r = await get("/api/courses/?id=2&id=1");
  expect(cacheStatus(r).params.fwd).toBe("miss");
  expect(origin.requests.length).toBe(2);
});

test("a request that matches no route passes through and is never stored", async () => {
  for (let i = 0; i < 2; i++) {
    const r = await get("/api/other/");
    await r.text();
    expect(cacheStatus(r).params.fwd).toBe("uri-miss");
    expect(cacheStatus(r).params.stored).toBeUndefined();
  }
  expect(origin.requests.length).toBe(2);
});

test("credentials on a route that is not per-user bypass the cache", async () => {
  for (let i = 0; i < 2; i++) {
    const r = await get("/api/courses/5/", { authorization: "Token alice" });
    expect(JSON.parse(await r.text()).auth).toBe("Token alice");
    expect(cacheStatus(r).params.fwd).toBe("bypass");
  }
  expect(origin.requests.length).toBe(2);
  // and the anonymous entry was not filled by the authenticated answer
  const anon = await get("/api/courses/5/");
  expect(JSON.parse(await anon.text()).auth).toBe(null);
});

describe("per-user routes", () => {
  test("two users never share an entry, and each gets their own back", async () => {
    const a1 = JSON.parse(await (await get("/api/me/", { authorization: "Token alice" })).text());
    const b1 = JSON.parse(await (await get("/api/me/", { authorization: "Token bob" })).text());
    expect(a1.auth).toBe("Token alice");
    expect(b1.auth).toBe("Token bob");
    const a2r = await get("/api/me/", { authorization: "Token alice" });
    expect(cacheStatus(a2r).params.hit).toBe(true);
    expect(JSON.parse(await a2r.text())).toEqual(a1);
    const b2r = await get("/api/me/", { authorization: "Token bob" });
    expect(JSON.parse(await b2r.text())).toEqual(b1);
    const anon = await get("/api/me/");
    expect(JSON.parse(await anon.text()).auth).toBe(null);
    expect(origin.requests.length).toBe(3);
  });

  test("a forged X-User-Id or __edgecache parameter does not reach another user's entry", async () => {
    const a = JSON.parse(await (await get("/api/me/?x=1", { authorization: "Token carol" })).text());
    expect(a.auth).toBe("Token carol");
    const forged = await get("/api/me/?x=1", { "x-user-id": "carol" });
    expect(JSON.parse(await forged.text()).auth).toBe(null);
    const explain = await worker.fetch(
      "https://api.example.com/__edgecache/explain?url=" +
        encodeURIComponent("https://api.example.com/api/me/?x=1") +
        "&h=" +
        encodeURIComponent("Authorization: Token carol"),
      { headers: { authorization: `Bearer ${SECRETS.EDGECACHE_EXPLAIN_TOKEN}` } },
    );
    expect(explain.status).toBe(200);
    const key = (await explain.json()).key;
    const variant = new URL(key).searchParams.get("__edgecache");
    const injected = await get(`/api/me/?x=1&__edgecache=${encodeURIComponent(variant ?? "")}`);
    expect(JSON.parse(await injected.text()).auth).toBe(null);
  });
});

test("declared vary headers are part of the key", async () => {
  const en = JSON.parse(await (await get("/api/courses/?search=vary", { "accept-language": "en" })).text());
  const fr = JSON.parse(await (await get("/api/courses/?search=vary", { "accept-language": "fr" })).text());
  expect(en.lang).toBe("en");
  expect(fr.lang).toBe("fr");
  const en2 = await get("/api/courses/?search=vary", { "accept-language": " EN " });
  expect(cacheStatus(en2).params.hit).toBe(true);
  expect(JSON.parse(await en2.text()).lang).toBe("en");
});

describe("explain endpoint", () => {
  const explainUrl = (u) => "https://api.example.com/__edgecache/explain?url=" + encodeURIComponent(u);
  test("refuses requests without the token and never forwards them", async () => {
    const r = await worker.fetch(explainUrl("https://api.example.com/api/courses/"));
    expect(r.status).toBe(401);
    const wrong = await worker.fetch(explainUrl("https://api.example.com/api/courses/"), { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(origin.requests.length).toBe(0);
  });
  test("explains route, key, ttl and tags", async () => {
    const r = await worker.fetch(explainUrl("https://API.example.com/api/courses/?perpage=500&page=1&b=1&level=X"), {
      headers: { authorization: `Bearer ${SECRETS.EDGECACHE_EXPLAIN_TOKEN}` },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toContain("no-store");
    const e = await r.json();
    expect(e.route).toBe("course-list");
    expect(e.key.startsWith("https://api.example.com/api/courses/?level=x&perpage=10")).toBe(true);
    expect(e.ttl_seconds).toBe(900);
    expect(e.tags).toContain("course_list");
    expect(e.cacheable).toBe(true);
    expect(origin.requests.length).toBe(0);
  });
});
