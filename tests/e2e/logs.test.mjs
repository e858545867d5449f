// End to end: the worker's code against its docs (issue 23.6). A webhook that
// cannot be checked for want of a secret is a 503 with `Retry-After`
// (docs/purge.md), and no log event carries a cache key: query values and
// per-user ids stay out of the logs, which carry a hash of the key
// (docs/observability.md).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, purge, sleep, startOrigin, startWorker, untilHit } from "./harness.mjs";

const BASE = "https://api.example.com";
const PRIVATE = "private-value-4711";
let origin;

beforeAll(async () => {
  origin = await startOrigin(() => ({
    headers: { "content-type": "application/json", "cache-control": "max-age=600" },
    body: '{"ok":true}',
  }));
});

afterAll(async () => {
  await origin?.close();
});

const config = () => ({ origin: origin.url, routes: [{ name: "api", path: "/api/*", ttl: "15m", query: { allow: ["q"] } }] });

/** The worker's JSON lines, parsed, once `n` of them have arrived. */
async function jsonLines(logs, n) {
  for (let i = 0; i < 100; i++) {
    const parsed = logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    if (parsed.length >= n) return parsed;
    await new Promise((r) => setTimeout(r, 20));
  }
  return logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

describe("the purge webhook without a secret", () => {
  test("answers 503 with Retry-After, as documented", async () => {
    const w = await startWorker(config(), { bindings: { EDGECACHE_WEBHOOK_SECRET: "" }, quiet: true });
    try {
      const r = await purge(w, { tags: ["course_list"] });
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toBe("1");
      await r.text();
    } finally {
      await w.dispose();
    }
  });
});

describe("log events name a key by its hash only", () => {
  test("cache_store", async () => {
    const logs = [];
    const w = await startWorker(config(), { logs });
    try {
      const r = await w.fetch(`${BASE}/api/items?q=${PRIVATE}`);
      await r.text();
      const lines = await jsonLines(logs, 2);
      const store = lines.find((l) => l.edgecache === "cache_store");
      expect(store, JSON.stringify(lines)).toBeTruthy();
      expect(store.detail.key).toMatch(/^[0-9a-f]{16}$/);
      expect(store.detail.outcome).toBe("stored");
      expect(logs.join("\n")).not.toContain(PRIVATE);
    } finally {
      await w.dispose();
    }
  });

  test("cache_store follows log_sample for stored copies", async () => {
    const logs = [];
    const w = await startWorker({ ...config(), observability: { log_sample: 0 } }, { logs });
    try {
      for (let i = 0; i < 5; i++) await (await w.fetch(`${BASE}/api/items?q=sampled${i}`)).text();
      // Each was stored: the next read of the first is a hit.
      const hit = await untilHit(async () => {
        const r = await w.fetch(`${BASE}/api/items?q=sampled0`);
        await r.text();
        return { hit: cacheStatus(r)?.params.hit === true };
      });
      expect(hit.hit).toBe(true);
      await sleep(200);
      expect(logs.filter((l) => l.includes('"cache_store"'))).toEqual([]);
    } finally {
      await w.dispose();
    }
  });

  test("generations_unreadable", async () => {
    const logs = [];
    const w = await startWorker(config(), { logs, kv: false });
    try {
      // Stored on the miss; the next requests find the entry and cannot read KV.
      let unreadable;
      for (let i = 0; i < 40 && !unreadable; i++) {
        await (await w.fetch(`${BASE}/api/items?q=${PRIVATE}`)).text();
        const lines = await jsonLines(logs, 1);
        unreadable = lines.find((l) => l.edgecache === "generations_unreadable");
      }
      expect(unreadable, logs.join("\n")).toBeTruthy();
      expect(unreadable.detail.key).toMatch(/^[0-9a-f]{16}$/);
      expect(logs.join("\n")).not.toContain(PRIVATE);
    } finally {
      await w.dispose();
    }
  });
});
