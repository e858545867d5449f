// The test KV stand-in (tests/e2e/kv/standin.mjs) on its own: the limits it
// claims to enforce, against an in-memory inner namespace and a fake clock.
import { describe, expect, test } from "vitest";
import { KvNamespace, createCentral } from "../e2e/kv/standin.mjs";

function memoryKv() {
  const m = new Map();
  return {
    async get(k) {
      return m.has(k) ? m.get(k) : null;
    },
    async put(k, v) {
      m.set(k, v);
    },
    async delete(k) {
      m.delete(k);
    },
    async list() {
      return { keys: [...m.keys()].map((name) => ({ name })) };
    },
    async getWithMetadata(k) {
      return { value: m.get(k) ?? null, metadata: null };
    },
  };
}

describe("the KV stand-in", () => {
  test("a second write to a key within a second is refused like production's 429, from any location", async () => {
    let now = 1_000;
    const central = createCentral({ now: () => now });
    const inner = memoryKv();
    const a = new KvNamespace(inner, central, { location: "a", now: () => now });
    const b = new KvNamespace(inner, central, { location: "b", now: () => now });
    await a.put("k", "1");
    now += 999;
    await expect(b.put("k", "2")).rejects.toThrow("KV PUT failed: 429 Too Many Requests");
    await b.put("other", "x");
    now += 1;
    await b.put("k", "3");
    expect(central.stats).toMatchObject({ writes: 3, refused: 1 });
  });

  test("the 1,001st operation of an invocation throws", async () => {
    const kv = new KvNamespace(memoryKv(), null, {});
    for (let i = 0; i < 1000; i++) await kv.get(`k${i}`);
    await expect(kv.get("one-more")).rejects.toThrow("Too many API requests by single worker invocation");
    // A new invocation (a new stand-in) starts from zero.
    expect(await new KvNamespace(memoryKv(), null, {}).get("k")).toBe(null);
  });

  test("a location sees another's write only once its cached read, 'not found' included, has expired", async () => {
    let now = 0;
    const inner = memoryKv();
    const a = new KvNamespace(inner, null, { location: "pa", delayMs: 1000, now: () => now });
    const b = new KvNamespace(inner, null, { location: "pb", delayMs: 1000, now: () => now });
    expect(await b.get("k")).toBe(null); // cached "not found" in pb
    await a.put("k", "v1");
    expect(await a.get("k")).toBe("v1"); // seen at once where written
    now = 999;
    expect(await b.get("k")).toBe(null);
    now = 1000;
    expect(await b.get("k")).toBe("v1");
  });
});
