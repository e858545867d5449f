// src/glue/js/cache.js on its own, in Node, with a stand-in for caches.default.
import { afterEach, describe, expect, test } from "vitest";
import { edgecache_match } from "../../src/glue/js/cache.js";

const stored = new Map();
globalThis.caches = { default: { match: async (key) => stored.get(key)?.clone() } };
afterEach(() => stored.clear());

describe("edgecache_match", () => {
  test("resolves the entry and its header list in the flat form", async () => {
    const headers = new Headers([["content-type", "application/json"], ["x-edgecache-status", "200"]]);
    stored.set("https://a.example/x", new Response("{}", { headers }));
    const [res, flat] = await edgecache_match("https://a.example/x");
    expect(await res.text()).toBe("{}");
    expect(flat).toBe("content-type\napplication/json\nx-edgecache-status\n200\n");
  });

  test("resolves null when nothing is stored under the key", async () => {
    expect(await edgecache_match("https://a.example/none")).toBeNull();
  });
});
