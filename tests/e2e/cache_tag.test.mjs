// End to end: every entry the worker puts in the Cache API carries its purge
// names as `Cache-Tag` (issue 25.3) — read from the stored entries with
// Miniflare's getCaches(), variants included — and that field never reaches a
// client: not on a miss, hit, memory-tier hit, HEAD, 304 or stale copy; with
// `expose_tag_headers` a client sees the origin's own field, never the worker's.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SECRETS, cacheStatus, sleep, startRoutedOrigin, startWorker, untilHit } from "./harness.mjs";

const BASE = "https://api.example.com";
const ORIGIN_TAGS = "Tenant-7,Orders";
let origin, hidden, exposing, hiddenCache, exposingCache;
let sieFailing = false;

beforeAll(async () => {
  origin = await startRoutedOrigin();
  const answer = (req, extra = { vary: "Accept-Language" }) => ({
    headers: { "content-type": "application/json", etag: '"v1"', "cache-tag": ORIGIN_TAGS, ...extra },
    body: JSON.stringify({ url: req.url, lang: req.headers["accept-language"] ?? null }),
  });
  for (const p of ["/api/courses/1/", "/api/courses/2/"]) origin.on(p, (req) => answer(req));
  origin.on("/api/courses/3/", (req) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify({ url: req.url }) }));
  origin.on("/sie/a", (req) => (sieFailing ? { status: 503, body: "down" } : answer(req, {})));
  const config = (expose, memory = {}) => ({
    origin: origin.url,
    expose_tag_headers: expose,
    memory,
    routes: [
      { name: "detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"], vary: ["accept-language"] },
      { name: "sie", path: "/sie/*", ttl: "1s", stale_if_error: "30s", timeout: "1s" },
    ],
  });
  hidden = await startWorker(config(false));
  exposing = await startWorker(config(true));
  // The memory tier off: every hit is read from the Cache API.
  hiddenCache = await startWorker(config(false, { max_bytes: 0 }));
  exposingCache = await startWorker(config(true, { max_bytes: 0 }));
}, 60_000);

afterAll(async () => {
  await hidden?.dispose();
  await exposing?.dispose();
  await hiddenCache?.dispose();
  await exposingCache?.dispose();
  await origin?.close();
});

const get = async (w, p, headers = {}, method = "GET") => {
  const r = await w.fetch(`${BASE}${p}`, { method, headers });
  const cs = cacheStatus(r);
  await r.text();
  return { r, cs, hit: cs?.params.hit === true };
};

async function keyOf(w, url, headers = []) {
  const q = new URLSearchParams({ url });
  for (const [n, v] of headers) q.append("h", `${n}: ${v}`);
  const r = await w.fetch(`${BASE}/__edgecache/explain?${q}`, { headers: { authorization: `Bearer ${SECRETS.EDGECACHE_EXPLAIN_TOKEN}` } });
  return (await r.json()).key;
}

async function stored(w, key) {
  const r = await (await w.mf.getCaches()).default.match(key);
  if (!r) return null;
  await r.arrayBuffer();
  return r.headers;
}

describe("Cache-Tag on stored entries", () => {
  test("every variant's stored entry carries the route's, the origin's and the URL's tags", async () => {
    const url = `${BASE}/api/courses/1/`;
    const keys = [];
    for (const lang of ["fr", "de"]) {
      await get(hidden, "/api/courses/1/", { "accept-language": lang });
      expect((await untilHit(() => get(hidden, "/api/courses/1/", { "accept-language": lang }))).hit).toBe(true);
      keys.push(await keyOf(hidden, url, [["accept-language", lang]]));
    }
    expect(keys[0]).not.toBe(keys[1]);
    const [fr, de] = [await stored(hidden, keys[0]), await stored(hidden, keys[1])];
    const tags = fr.get("cache-tag").split(",");
    expect(tags).toEqual(expect.arrayContaining(["course:1", "tenant-7", "orders"]));
    // The URL's and its prefixes' names, as ec-<12 hex>.
    expect(tags.filter((t) => /^ec-[0-9a-f]{12}$/.test(t)).length).toBeGreaterThanOrEqual(3);
    expect(de.get("cache-tag")).toBe(fr.get("cache-tag"));
    // The origin's own field is kept, under the worker's internal name.
    expect(fr.get("x-edgecache-origin-tag")).toBe(ORIGIN_TAGS);
  });
});

describe("the stored Cache-Tag never reaches a client", () => {
  async function answers(w, memory = true) {
    const p = "/api/courses/2/";
    const out = { miss: await get(w, p) };
    out.hit = await untilHit(() => get(w, p));
    out.memory = await get(w, p);
    out.head = await get(w, p, {}, "HEAD");
    out.notModified = await get(w, p, { "if-none-match": '"v1"' });
    sieFailing = false;
    await get(w, "/sie/a");
    expect((await untilHit(() => get(w, "/sie/a"))).hit).toBe(true);
    sieFailing = true;
    await sleep(1100);
    out.stale = await get(w, "/sie/a");
    sieFailing = false;
    expect(out.hit.hit).toBe(true);
    if (memory) expect(out.memory.cs.params.detail, out.memory.cs.raw).toBe("memory");
    else for (const a of [out.hit, out.memory, out.head]) expect(a.cs.params.detail, a.cs.raw).toBeUndefined();
    expect(out.head.hit, out.head.cs.raw).toBe(true);
    expect(out.notModified.r.status).toBe(304);
    expect(out.stale.cs.params.fwd, out.stale.cs.raw).toBe("stale");
    return out;
  }

  test("by default: no Cache-Tag on any answer, from the memory tier or the Cache API", async () => {
    for (const [w, memory] of [[hidden, true], [hiddenCache, false]]) {
      for (const [what, a] of Object.entries(await answers(w, memory))) {
        expect(a.r.headers.get("cache-tag"), `${what}: ${a.cs?.raw}`).toBeNull();
        expect(a.r.headers.get("x-edgecache-origin-tag"), what).toBeNull();
      }
    }
  });

  test("with expose_tag_headers: the origin's own field, never the worker's tags", async () => {
    for (const [w, memory] of [[exposing, true], [exposingCache, false]]) {
      for (const [what, a] of Object.entries(await answers(w, memory))) {
        const v = a.r.headers.get("cache-tag");
        if (what === "notModified" && v === null) continue;
        expect(v, `${what}: ${a.cs?.raw}`).toBe(ORIGIN_TAGS);
      }
    }
  });

  test("with expose_tag_headers, an origin that sent no Cache-Tag: none on a hit", async () => {
    const w = exposingCache;
    // A language named: Miniflare's fetch would send `Accept-Language: *`.
    const lang = { "accept-language": "en" };
    await get(w, "/api/courses/3/", lang);
    const hit = await untilHit(() => get(w, "/api/courses/3/", lang));
    expect(hit.hit).toBe(true);
    expect(hit.cs.params.detail, hit.cs.raw).toBeUndefined(); // from the Cache API
    expect(hit.r.headers.get("cache-tag"), hit.cs.raw).toBeNull();
    // The stored entry is tagged all the same, its empty origin field kept.
    const entry = await stored(w, await keyOf(w, `${BASE}/api/courses/3/`, Object.entries(lang)));
    expect(entry.get("cache-tag")).toContain("course:3");
    expect(entry.get("x-edgecache-origin-tag")).toBe("");
  });
});
