// End to end: signed purge webhooks, and purges that hold in every data centre.
// Two workers sharing one KV directory but not a cache stand for two data centres.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { cacheStatus, purge, SECRETS, signWebhook, sleep, startOrigin, startWorker, tempDir, untilHit } from "./harness.mjs";

let origin, dc1, dc2, kvDir;
let version = 1;
let delayMs = 0;
// No memo and no skew allowance, and KV propagation set to what the harness
// emulates (at most 1 s), so each purge holds in the other data centre within a
// few seconds (the defaults trade a few seconds of bound for fewer KV reads; see
// docs/purge.md). The purge writer (a Durable Object) is bound, as shipped.
const config = () => ({
  origin: origin.url,
  purge: { generation_memo: "0s", clock_skew: "0s", kv_propagation: "1s" },
  routes: [
    { name: "course-list", path: "/api/courses/", ttl: "15m", tags: ["course_list"], query: { allow: ["page", "level"], defaults: { page: "1" }, lowercase: ["level"] } },
    { name: "course-detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"] },
    { name: "me", path: "/api/me/", ttl: "15m", per_user: true },
    { name: "subjects", path: "/api/subjects/*", ttl: "15m" },
  ],
});

beforeAll(async () => {
  origin = await startOrigin(async (req) => {
    if (delayMs) await sleep(delayMs);
    const headers = { "content-type": "application/json" };
    if (req.url.startsWith("/api/subjects/")) headers["cache-tag"] = "subject-7,Shared";
    return { status: 200, headers, body: JSON.stringify({ v: version, url: req.url, auth: req.headers.authorization ?? null }) };
  });
  kvDir = tempDir("edgecache-kv-");
  dc1 = await startWorker(config(), { kvPersist: kvDir.dir });
  dc2 = await startWorker(config(), { kvPersist: kvDir.dir });
});
afterAll(async () => {
  await dc1?.dispose();
  await dc2?.dispose();
  await origin?.close();
  kvDir?.remove();
});
beforeEach(() => {
  origin.requests.length = 0;
  delayMs = 0;
});

const get = async (dc, path, headers = {}) => {
  const r = await dc.fetch(`https://api.example.com${path}`, { headers });
  const status = cacheStatus(r);
  return { status, hit: status?.params.hit === true, body: JSON.parse(await r.text()) };
};
/** Fills both data centres' caches for `path` and checks both now hit. */
const warm = async (path, headers = {}) => {
  for (const dc of [dc1, dc2]) {
    await get(dc, path, headers);
    expect((await untilHit(() => get(dc, path, headers))).hit, `${path} warm`).toBe(true);
  }
};
let lastReceipt = null;
const purgeOk = async (payload, opts) => {
  const r = await purge(dc1, payload, opts);
  const receipt = await r.json();
  expect(r.status, JSON.stringify(receipt)).toBe(200);
  receipt.answeredAt = Date.now();
  lastReceipt = receipt;
  return receipt;
};
/**
 * Reads `path` in `dc` until `done(result)` or the last purge's staleness bound
 * has passed (KV takes time to reach the other data centre); the last read.
 */
const settled = async (dc, path, done, headers = {}) => {
  const until = lastReceipt.answeredAt + lastReceipt.staleness_bound_seconds * 1000;
  for (;;) {
    const r = await get(dc, path, headers);
    if (done(r) || Date.now() > until) return r;
    await sleep(50);
  }
};
const fresh = (r) => r.body.v === version;
const missed = (r) => r.status.params.fwd === "miss";

describe("a purge received by one data centre holds in the other", () => {
  test("by route tag: the other data centre misses and gets the new data", async () => {
    await warm("/api/courses/1/");
    version++;
    const receipt = await purgeOk({ tags: ["course:1"] });
    expect(receipt.layers.generations.status).toBe("ok");
    expect(receipt.layers.generations.bumped).toBe(1);
    for (const dc of [dc2, dc1]) {
      const r = await settled(dc, "/api/courses/1/", fresh);
      expect(r.status.params.fwd).toBe("miss");
      expect(r.body.v).toBe(version);
    }
    // two warming misses, then one miss in each data centre
    expect(origin.requests.length).toBe(4);
  });

  test("the list tag takes every page and filter variant with it", async () => {
    const variants = ["/api/courses/", "/api/courses/?page=2", "/api/courses/?level=beginner", "/api/courses/?page=3&level=advanced"];
    for (const v of variants) await warm(v);
    version++;
    await purgeOk({ tags: ["course_list"] });
    for (const v of variants) {
      const r = await settled(dc2, v, fresh);
      expect(r.status.params.fwd, v).toBe("miss");
      expect(r.body.v, v).toBe(version);
    }
  });

  test("by URL in any spelling, with every per-user variant", async () => {
    await warm("/api/courses/?level=beginner&page=2");
    await warm("/api/me/", { authorization: "Token alice" });
    await warm("/api/me/", { authorization: "Token bob" });
    version++;
    await purgeOk({ urls: ["http://API.Example.com/api/courses/?page=2&level=Beginner&utm_source=mail", "https://api.example.com/api/me/"] });
    expect((await settled(dc2, "/api/courses/?page=2&level=beginner", fresh)).body.v).toBe(version);
    expect((await settled(dc2, "/api/me/", fresh, { authorization: "Token alice" })).body).toMatchObject({ v: version, auth: "Token alice" });
    expect((await settled(dc2, "/api/me/", fresh, { authorization: "Token bob" })).body).toMatchObject({ v: version, auth: "Token bob" });
  });

  test("by path prefix, on whole segments", async () => {
    await warm("/api/courses/5/");
    await warm("/api/courses/?page=4");
    await warm("/api/me/", { authorization: "Token carol" });
    version++;
    await purgeOk({ prefixes: ["/api/courses"] });
    expect((await settled(dc2, "/api/courses/5/", missed)).status.params.fwd).toBe("miss");
    expect((await settled(dc2, "/api/courses/?page=4", missed)).status.params.fwd).toBe("miss");
    expect((await get(dc2, "/api/me/", { authorization: "Token carol" })).status.params.hit).toBe(true);
  });

  test("by a tag the origin sent in Cache-Tag", async () => {
    await warm("/api/subjects/7/");
    version++;
    await purgeOk({ tags: ["subject-7"] });
    expect((await settled(dc2, "/api/subjects/7/", fresh)).body.v).toBe(version);
    // tags compare case-insensitively, as Cloudflare's do
    await warm("/api/subjects/8/");
    await purgeOk({ tags: ["shared"] });
    expect((await settled(dc2, "/api/subjects/8/", missed)).status.params.fwd).toBe("miss");
  });

  test("everything", async () => {
    await warm("/api/courses/9/");
    await warm("/api/subjects/9/");
    await purgeOk({ everything: true });
    expect((await settled(dc2, "/api/courses/9/", missed)).status.params.fwd).toBe("miss");
    expect((await settled(dc2, "/api/subjects/9/", missed)).status.params.fwd).toBe("miss");
  });

  test("a purge that lands while a miss is in flight is not undone by that miss", async () => {
    delayMs = 400;
    const inflight = get(dc2, "/api/courses/77/");
    await sleep(150);
    await purgeOk({ tags: ["course:77"] });
    const first = await inflight;
    expect(first.status.params.ttl).toBeDefined();
    delayMs = 0;
    // The entry was stored, but its fetch started before the purge: it must not be served.
    const next = await settled(dc2, "/api/courses/77/", missed);
    expect(next.status.params.fwd).toBe("miss");
    expect(next.status.params.detail).toBe("purged");
  });
});

describe("the webhook", () => {
  const url = "https://api.example.com/__edgecache/purge";
  const body = JSON.stringify({ tags: ["course:1"] });

  test("a repeated webhook-id does no new work and returns the first receipt", async () => {
    const headers = signWebhook(body);
    const a = await dc1.fetch(url, { method: "POST", headers, body });
    const first = await a.json();
    expect(first.replayed).toBe(false);
    const b = await dc1.fetch(url, { method: "POST", headers, body });
    const second = await b.json();
    expect(b.status).toBe(200);
    expect(second.replayed).toBe(true);
    expect({ ...second, replayed: false }).toEqual(first);
  });

  test("answers are never stored and never forwarded", async () => {
    const r = await purge(dc1, { tags: ["x"] });
    expect(r.headers.get("cache-control")).toBe("no-store");
    await r.text();
    expect(origin.requests.length).toBe(0);
  });

  const rejections = [
    ["wrong method", () => dc1.fetch(url, { method: "GET" }), 405],
    ["no signature headers", () => dc1.fetch(url, { method: "POST", body }), 401],
    ["tampered body", () => dc1.fetch(url, { method: "POST", headers: signWebhook(body), body: body.replace("1", "2") }), 401],
    ["re-serialized JSON", () => dc1.fetch(url, { method: "POST", headers: signWebhook(body), body: JSON.stringify(JSON.parse(body), null, 1) }), 401],
    ["stale timestamp", () => dc1.fetch(url, { method: "POST", headers: signWebhook(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }), body }), 401],
    ["future timestamp", () => dc1.fetch(url, { method: "POST", headers: signWebhook(body, { timestamp: Math.floor(Date.now() / 1000) + 301 }), body }), 401],
    ["bare v1,", () => dc1.fetch(url, { method: "POST", headers: { ...signWebhook(body), "webhook-signature": "v1," }, body }), 401],
    ["wrong secret", () => dc1.fetch(url, { method: "POST", headers: signWebhook(body, { secret: "whsec_" + Buffer.from("some-other-secret-value!!").toString("base64") }), body }), 401],
    ["oversize body", () => { const big = JSON.stringify({ tags: ["x".repeat(70 * 1024)] }); return dc1.fetch(url, { method: "POST", headers: signWebhook(big), body: big }); }, 413],
    ["malformed JSON", () => { const b = "{not json"; return dc1.fetch(url, { method: "POST", headers: signWebhook(b), body: b }); }, 400],
  ];
  for (const [name, send, status] of rejections) {
    test(`refuses ${name} with ${status}`, async () => {
      const r = await send();
      expect(r.status).toBe(status);
      await r.text();
    });
  }

  test("an unknown field is refused with a message naming it", async () => {
    const b = JSON.stringify({ tagz: ["x"] });
    const r = await dc1.fetch(url, { method: "POST", headers: signWebhook(b), body: b });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("tagz");
  });

  test("several signatures: one valid among invalid ones is enough (rotation)", async () => {
    const h = signWebhook(body);
    const r = await dc1.fetch(url, { method: "POST", headers: { ...h, "webhook-signature": `v1,AAAA ${h["webhook-signature"]} v2,zzz` }, body });
    expect(r.status).toBe(200);
    await r.text();
  });
});

test("several configured secrets: a webhook signed with either is accepted", async () => {
  const newSecret = "whsec_" + Buffer.from("the-next-webhook-secret-2026").toString("base64");
  const w = await startWorker(config(), { bindings: { EDGECACHE_WEBHOOK_SECRET: `${newSecret} ${SECRETS.EDGECACHE_WEBHOOK_SECRET}` } });
  try {
    for (const secret of [newSecret, SECRETS.EDGECACHE_WEBHOOK_SECRET]) {
      const r = await purge(w, { tags: ["a"] }, { secret });
      expect(r.status).toBe(200);
      await r.text();
    }
  } finally {
    await w.dispose();
  }
});

test("with an isolate memo, a purge holds in the other data centre once the memo expires", async () => {
  const dir = tempDir("edgecache-kv-memo-");
  const cfg = { ...config(), purge: { generation_memo: "1s", clock_skew: "0s" } };
  const a = await startWorker(cfg, { kvPersist: dir.dir });
  const b = await startWorker(cfg, { kvPersist: dir.dir });
  try {
    const path = "https://api.example.com/api/courses/55/";
    for (const w of [a, b]) for (let i = 0; i < 2; i++) await (await w.fetch(path)).text();
    const r = await purge(a, { tags: ["course:55"] });
    const receipt = await r.json();
    // KV's bound: writer (3 s) + KV propagation (60 s, the default) + memo (1 s) + skew (0 s);
    // the fast path's (on by default): poll (1 s) + a read (1 s) + skew (0 s), which applies.
    expect(receipt.bounds).toEqual({ fast_ms: 2000, backstop_seconds: 64, applies: "fast" });
    expect(receipt.staleness_bound_seconds).toBe(2);
    // the receiving isolate updates its memo at once
    expect(cacheStatus(await a.fetch(path)).params.fwd).toBe("miss");
    await sleep(1200);
    const late = await b.fetch(path);
    await late.text();
    expect(cacheStatus(late).params.fwd).toBe("miss");
  } finally {
    await a.dispose();
    await b.dispose();
    dir.remove();
  }
});

test("without KV a purge is answered 503 with Retry-After, never 200", async () => {
  const w = await startWorker(config(), { kv: false });
  try {
    const r = await purge(w, { tags: ["course:3"] });
    const receipt = await r.json();
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("1");
    expect(receipt.layers.generations.status).toBe("failed");
  } finally {
    await w.dispose();
  }
});

test("without KV the worker fails safe: it never serves an entry it cannot prove current", async () => {
  const w = await startWorker(config(), { kv: false });
  try {
    const a = await w.fetch("https://api.example.com/api/courses/3/");
    await a.text();
    expect(cacheStatus(a).params.ttl).toBeDefined();
    for (let i = 0; i < 2; i++) {
      const b = await w.fetch("https://api.example.com/api/courses/3/");
      await b.text();
      expect(cacheStatus(b).params.fwd).toBe("bypass");
      expect(cacheStatus(b).params.detail).toBe("generations_unavailable");
    }
    expect(origin.requests.length).toBe(3);
  } finally {
    await w.dispose();
  }
});

/** The tag a URL's entries carry (`purge::cache_tag`: `ec-` and 12 hex of the name's hash). */
const urlTag = (keyUrl) => `ec-${createHash("sha256").update(`url:${keyUrl}`).digest("hex").slice(0, 12)}`;

/** A stand-in of the zone purge API on loopback: `answer(n)` gives the n-th call's status. */
const fakeZoneApi = async (answer) => {
  const calls = [];
  const api = await startOrigin((req) => {
    calls.push({ at: Date.now(), url: req.url, auth: req.headers.authorization, body: JSON.parse(req.body.toString()) });
    const status = answer(calls.length);
    const headers = { "content-type": "application/json", ...(status === 429 ? { "retry-after": "1" } : {}) };
    return { status, headers, body: JSON.stringify({ success: status === 200 }) };
  });
  return { api, calls };
};

test("zone purge API: the writer makes the calls, coalesces names across webhooks, honours Retry-After, and settles the receipt", async () => {
  // The first call is refused (429, Retry-After: 1); every other is taken.
  const { api, calls } = await fakeZoneApi((n) => (n === 1 ? 429 : 200));
  const w = await startWorker(
    { ...config(), purge: { zone_id: "zone123", api_base: `${api.url}/client/v4` } },
    { bindings: { EDGECACHE_ZONE_TOKEN: "cf-token" } },
  );
  try {
    const tags = Array.from({ length: 101 }, (_, i) => `t${i}`);
    const first = { tags, urls: ["https://api.example.com/api/courses/?page=1&level=X"] };
    const id = "msg_zone_first";
    const r = await purge(w, first, { id });
    const receipt = await r.json();
    expect(r.status).toBe(200);
    expect(receipt.layers.zone_purge).toEqual({ status: "queued", requests: 2 });
    // Two more webhooks, each naming tags the first one or the other names too.
    for (const more of [{ tags: ["t5", "shared"] }, { tags: ["shared", "t100"] }]) {
      expect((await purge(w, more)).status).toBe(200);
    }
    for (let i = 0; i < 100 && calls.length < 3; i++) await sleep(100);
    await sleep(300);
    expect(calls.every((c) => c.url === "/client/v4/zones/zone123/purge_cache" && c.auth === "Bearer cf-token")).toBe(true);
    const bodies = calls.map((c) => c.body);
    // The refused call is sent again with the same tags, after its Retry-After.
    expect(bodies[1]).toEqual(bodies[0]);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(900);
    // Three webhooks, 104 distinct tags: two calls of at most 100, each tag once.
    const sent = bodies.slice(1);
    expect(sent.map((b) => b.tags.length)).toEqual([100, 3]);
    const all = sent.flatMap((b) => b.tags);
    const urlName = urlTag("https://api.example.com/api/courses/?level=x");
    expect([...all].sort()).toEqual([...tags, "shared", urlName].sort());
    expect(sent.some((b) => b.files || b.prefixes || b.purge_everything)).toBe(false);
    // The receipt the writer keeps now says the zone purge is done.
    const again = await (await purge(w, first, { id })).json();
    expect(again.replayed).toBe(true);
    expect(again.layers.zone_purge.status).toBe("ok");
  } finally {
    await w.dispose();
    await api.close();
  }
});

test("zone purge API: a refusal that would repeat (403) fails the receipt's zone layer; everything is one purge_everything", async () => {
  const { api, calls } = await fakeZoneApi(() => 403);
  const w = await startWorker(
    { ...config(), purge: { zone_id: "zone123", api_base: `${api.url}/client/v4` } },
    { bindings: { EDGECACHE_ZONE_TOKEN: "cf-token" } },
  );
  try {
    const id = "msg_zone_everything";
    const r = await purge(w, { everything: true }, { id });
    expect(r.status).toBe(200);
    expect((await r.json()).layers.zone_purge.status).toBe("queued");
    for (let i = 0; i < 50 && calls.length < 1; i++) await sleep(100);
    await sleep(300);
    expect(calls.map((c) => c.body)).toEqual([{ purge_everything: true }]);
    const again = await (await purge(w, { everything: true }, { id })).json();
    expect(again.layers.zone_purge.status).toBe("failed");
  } finally {
    await w.dispose();
    await api.close();
  }
});

describe("an unsafe method invalidates in its own data centre only", () => {
  test("a successful POST drops the entry where it was received, writes nothing to KV, and leaves the other data centre alone", async () => {
    const kv = await dc1.kvNamespace();
    const before = (await kv.list()).keys.length;
    await warm("/api/courses/5/");
    const post = await dc1.fetch("https://api.example.com/api/courses/5/", { method: "POST", body: "x" });
    expect(post.status).toBe(200);
    await post.text();
    // Its own data centre misses: the entry there is gone.
    expect((await get(dc1, "/api/courses/5/")).status.params.fwd).toBe("miss");
    // The other data centre still serves its entry: global invalidation is the
    // signed webhook's job, never an anonymous request's.
    expect((await get(dc2, "/api/courses/5/")).hit).toBe(true);
    // No purge record was written (an anonymous request costs no KV write).
    expect((await kv.list()).keys.length).toBe(before);
  });
});
