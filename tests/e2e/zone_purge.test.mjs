// End to end: the zone purge layer across data centres (issue 25.3 and 25.4).
// Three locations (Miniflare instances sharing KV and the purge writer, each
// with its own cache; KV propagation 60 s, writer round trips 0/80/250 ms)
// and the zone purge API stand-in (zone_api.mjs). A purge by tag with the
// zone layer on removes the tagged Cache API entries — every variant — in
// every location within the stand-in's delay plus a margin, while entries
// with other tags stay. Asserted by reading each location's cache
// (getCaches()), not by timing requests.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, sleep, startOrigin, startWorker, tempDir, untilHit } from "./harness.mjs";
import { startZoneApi } from "./zone_api.mjs";

const BASE = "https://api.example.com";
const LANGS = ["fr", "de"];
// From the webhook's 200 to the check: the call leaves after the response
// (from the receiving isolate, or from the writer), then the stand-in's delay.
const MARGIN_MS = 2000;
let origin, zone, kvDir;
const dcs = [];

beforeAll(async () => {
  origin = await startOrigin((req) => ({
    headers: { "content-type": "application/json", ...(req.url.startsWith("/api/courses/") ? { vary: "Accept-Language" } : {}) },
    body: JSON.stringify({ url: req.url, lang: req.headers["accept-language"] ?? null }),
  }));
  zone = await startZoneApi({ plan: "business", delayMs: 150 });
  kvDir = tempDir("edgecache-zone-kv-");
  const config = {
    origin: origin.url,
    purge: { kv_propagation: "60s", zone_id: zone.zone, api_base: zone.apiBase, zone_plan: "business" },
    routes: [
      { name: "detail", path: "/api/courses/:pk/", ttl: "15m", tags: ["course:{pk}"], vary: ["accept-language"] },
      { name: "plain", path: "/api/plain/:pk/", ttl: "15m" },
    ],
  };
  for (const rtt of [0, 80, 250]) {
    const dc = await startWorker(config, {
      kvPersist: kvDir.dir,
      kvDelayMs: 60_000,
      writerRttMs: rtt,
      bindings: { EDGECACHE_ZONE_TOKEN: zone.token },
    });
    dcs.push(dc);
    zone.addLocation(dc);
  }
}, 120_000);

afterAll(async () => {
  await zone?.close();
  for (const dc of dcs) await dc.dispose();
  await origin?.close();
  kvDir?.remove();
});

const get = async (dc, p, lang) => {
  const r = await dc.fetch(`${BASE}${p}`, { headers: { "accept-language": lang } });
  const cs = cacheStatus(r);
  await r.text();
  return { hit: cs?.params.hit === true, cs };
};

/** Which of `keys` each location's Cache API holds: [[bool per key] per location]. */
async function held(keys) {
  const out = [];
  for (const dc of dcs) {
    const cache = (await dc.mf.getCaches()).default;
    const row = [];
    for (const k of keys) {
      const r = await cache.match(k);
      if (r) await r.arrayBuffer();
      row.push(Boolean(r));
    }
    out.push(row);
  }
  return out;
}

describe("zone purge", () => {
  test("by tag removes every tagged variant in every location within the stand-in's delay, and nothing else", async () => {
    const purged = [];
    const kept = [];
    for (const [p, into] of [["/api/courses/1/", purged], ["/api/courses/2/", kept]]) {
      for (const lang of LANGS) {
        for (const dc of dcs) {
          await get(dc, p, lang);
          expect((await untilHit(() => get(dc, p, lang))).hit, `${p} ${lang} warm in ${dc.location}`).toBe(true);
        }
        into.push(await zone.learn(dcs[0], `${BASE}${p}`, [["accept-language", lang]]));
      }
    }
    expect(new Set(purged).size).toBe(2); // two variant keys
    const all = dcs.map(() => [true, true, true, true]);
    expect(await held([...purged, ...kept])).toEqual(all);

    const r = await purge(dcs[1], { tags: ["course:1"] });
    const answered = Date.now();
    const receipt = await r.json();
    expect(r.status, JSON.stringify(receipt)).toBe(200);
    // Wait for the call (bounded), then for the stand-in's delay plus the margin.
    const deadline = answered + zone.delayMs + MARGIN_MS;
    while (!zone.calls.some((c) => c.status === 200) && Date.now() < deadline) await sleep(20);
    while (Date.now() < deadline) await sleep(50);
    await zone.settled();

    const accepted = zone.calls.filter((c) => c.status === 200);
    expect(accepted.map((c) => [c.kind, c.items]), JSON.stringify(zone.calls)).toEqual([["tags", ["course:1"]]]);
    expect(zone.stats.refused).toBe(0);
    // Gone in every location, both variants; course 2 still held everywhere.
    expect(await held([...purged, ...kept])).toEqual(dcs.map(() => [false, false, true, true]));
    console.log(
      `zone purge: call ${accepted[0].at - answered} ms after the 200, entries gone everywhere ${accepted[0].appliedAt - answered} ms after it (stand-in delay ${zone.delayMs} ms)`,
    );
  });

  test("a purge by URL deletes the entry stored under that URL in every location", async () => {
    const p = "/api/plain/1/";
    for (const dc of dcs) {
      await get(dc, p, "en");
      expect((await untilHit(() => get(dc, p, "en"))).hit, `${p} warm in ${dc.location}`).toBe(true);
    }
    const key = await zone.learn(dcs[0], `${BASE}${p}`, [["accept-language", "en"]]);
    expect(key).toBe(`${BASE}${p}`); // no variant on this route
    const before = zone.calls.length;
    const r = await purge(dcs[2], { urls: [`${BASE}${p}`] });
    const answered = Date.now();
    expect(r.status, await r.text()).toBe(200);
    const deadline = answered + zone.delayMs + MARGIN_MS;
    while (!zone.calls.slice(before).some((c) => c.status === 200) && Date.now() < deadline) await sleep(20);
    while (Date.now() < deadline) await sleep(50);
    await zone.settled();
    const sent = zone.calls.slice(before).filter((c) => c.status === 200);
    expect(sent.length, JSON.stringify(zone.calls.slice(before))).toBeGreaterThan(0);
    expect(await held([key])).toEqual(dcs.map(() => [false]));
  });
});
