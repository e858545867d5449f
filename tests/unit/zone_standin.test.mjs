// The zone purge API stand-in (tests/e2e/zone_api.mjs) on its own: the limits
// and answers it claims to have, with a fake clock, and what it reaches.
import { describe, expect, test } from "vitest";
import { ZoneLimits, reaches, startZoneApi } from "../e2e/zone_api.mjs";

const TOKEN = "t0k";
function api(plan, clock) {
  return new ZoneLimits({ plan, zone: "z1", token: TOKEN, now: () => clock.now });
}
const call = (limits, body, { auth = `Bearer ${TOKEN}`, path = "/client/v4/zones/z1/purge_cache" } = {}) =>
  limits.decide({ method: "POST", path, authorization: auth, body: JSON.stringify(body) });
const tags = (n, from = 0) => ({ tags: Array.from({ length: n }, (_, i) => `t${from + i}`) });

describe("the zone purge API stand-in", () => {
  test("Free: a bucket of 25 requests, then 5 a minute, 429 with Retry-After costing nothing", () => {
    const clock = { now: 0 };
    const z = api("free", clock);
    for (let i = 0; i < 25; i++) expect(call(z, tags(1, i)).status).toBe(200);
    const over = call(z, tags(1));
    expect(over.status).toBe(429);
    expect(over.headers["retry-after"]).toBe("12");
    expect(over.body).toEqual({
      success: false,
      errors: [{ code: 971, message: "Please wait and consider throttling your request speed" }],
      messages: [],
      result: null,
    });
    clock.now += 11_999;
    expect(call(z, tags(1)).status).toBe(429);
    clock.now += 1;
    expect(call(z, tags(1)).status).toBe(200);
    expect(call(z, tags(1)).status).toBe(429);
  });

  test("Pro 5/s, Business 10/s, Enterprise 50/s past their buckets", () => {
    for (const [plan, bucket, perSec] of [["pro", 25, 5], ["business", 50, 10], ["enterprise", 500, 50]]) {
      const clock = { now: 0 };
      const z = api(plan, clock);
      let ok = 0;
      for (let i = 0; i < bucket + 10; i++) if (call(z, { prefixes: ["api.example.com/x"] }).status === 200) ok += 1;
      expect(ok, plan).toBe(bucket);
      clock.now += 1000;
      ok = 0;
      for (let i = 0; i < perSec * 2; i++) if (call(z, { hosts: ["api.example.com"] }).status === 200) ok += 1;
      expect(ok, plan).toBe(perSec);
    }
  });

  test("at most 100 tags a request on every plan; URLs 100, or 500 on Enterprise", () => {
    const clock = { now: 0 };
    const urls = (n) => ({ files: Array.from({ length: n }, (_, i) => `https://a.example/${i}`) });
    expect(call(api("enterprise", clock), tags(100)).status).toBe(200);
    const big = call(api("enterprise", clock), tags(101));
    expect(big.status).toBe(400);
    expect(big.body.success).toBe(false);
    expect(big.body.errors[0].code).toBe(1018);
    expect(call(api("pro", clock), urls(101)).status).toBe(400);
    expect(call(api("enterprise", clock), urls(500)).status).toBe(200);
  });

  test("URLs are counted per URL: Free 800 a second", () => {
    const clock = { now: 0 };
    const z = api("free", clock);
    const urls = (n) => ({ files: Array.from({ length: n }, (_, i) => `https://a.example/${i}`) });
    for (let i = 0; i < 8; i++) expect(call(z, urls(100)).status).toBe(200);
    expect(call(z, urls(1)).status).toBe(429);
    clock.now += 500;
    for (let i = 0; i < 4; i++) expect(call(z, urls(100)).status).toBe(200);
    expect(call(z, urls(100)).status).toBe(429);
  });

  test("the real API's refusals: token, zone, body", () => {
    const z = api("pro", { now: 0 });
    expect(call(z, tags(1), { auth: "Bearer wrong" })).toMatchObject({ status: 403, body: { errors: [{ code: 10000 }] } });
    expect(call(z, tags(1), { path: "/client/v4/zones/other/purge_cache" })).toMatchObject({ status: 404, body: { errors: [{ code: 7003 }] } });
    expect(call(z, {}).status).toBe(400);
    expect(call(z, { tags: ["a"], files: ["https://a.example/"] }).status).toBe(400);
    expect(call(z, { purge_everything: false }).status).toBe(400);
    const ok = call(z, { purge_everything: true });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ success: true, errors: [], messages: [] });
    expect(ok.body.result.id).toMatch(/^[0-9a-f]{32}$/);
  });

  test("what a purge reaches: tags case-insensitively, files exactly, hosts, prefixes", () => {
    const key = "https://api.example.com/api/courses/1/?__edgecache=accept-language~fr";
    const tag = "course:1,ec-0123456789ab";
    expect(reaches({ kind: "tags", items: ["Course:1"] }, key, tag)).toBe(true);
    expect(reaches({ kind: "tags", items: ["course:2"] }, key, tag)).toBe(false);
    expect(reaches({ kind: "tags", items: ["course:1"] }, key, null)).toBe(false);
    expect(reaches({ kind: "files", items: ["https://api.example.com/api/courses/1/"] }, key, tag)).toBe(false);
    expect(reaches({ kind: "files", items: [key] }, key, tag)).toBe(true);
    expect(reaches({ kind: "hosts", items: ["API.example.com"] }, key, tag)).toBe(true);
    expect(reaches({ kind: "prefixes", items: ["api.example.com/api/courses"] }, key, tag)).toBe(true);
    expect(reaches({ kind: "prefixes", items: ["api.example.com/api/users"] }, key, tag)).toBe(false);
    expect(reaches({ kind: "purge_everything", items: [] }, key, tag)).toBe(true);
  });

  test("over HTTP: records every call and deletes after its delay in every location", async () => {
    const deleted = [];
    const entries = new Map([["https://a.example/1", "x,y"], ["https://a.example/2", "z"]]);
    const location = (name) => ({
      mf: {
        async getCaches() {
          return {
            default: {
              async match(k) {
                return entries.has(k) ? new Response("b", { headers: { "cache-tag": entries.get(k) } }) : undefined;
              },
              async delete(k) {
                deleted.push(`${name}|${k}`);
                return true;
              },
            },
          };
        },
      },
    });
    const zone = await startZoneApi({ plan: "pro", delayMs: 50, zone: "z1", token: TOKEN });
    try {
      zone.addLocation(location("a"));
      zone.addLocation(location("b"));
      zone.watch(["https://a.example/1", "https://a.example/2"]);
      const r = await fetch(`${zone.apiBase}/zones/z1/purge_cache`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ tags: ["Y"] }),
      });
      expect(r.status).toBe(200);
      expect((await r.json()).success).toBe(true);
      expect(deleted).toEqual([]);
      await zone.settled();
      expect(deleted).toEqual(["a|https://a.example/1", "b|https://a.example/1"]);
      expect(zone.calls).toMatchObject([{ status: 200, kind: "tags", items: ["Y"], deleted: 2 }]);
      expect(zone.calls[0].appliedAt - zone.calls[0].at).toBeGreaterThanOrEqual(45);
      expect(zone.stats).toMatchObject({ accepted: 1, refused: 0, items: 1, deleted: 2 });
    } finally {
      await zone.close();
    }
  });
});
