// src/glue/js/kv.js on its own, in Node, with a stand-in KV binding.
import { describe, expect, test } from "vitest";
import { edgecache_kv_put } from "../../src/glue/js/kv.js";

describe("edgecache_kv_put", () => {
  test("puts the text value with its expiration TTL on the named binding", async () => {
    const calls = [];
    const env = { KV: { put: async (...args) => calls.push(args) } };
    await edgecache_kv_put(env, "KV", "gen:all", "v1:1700000000000", 86400);
    expect(calls).toEqual([["gen:all", "v1:1700000000000", { expirationTtl: 86400 }]]);
  });

  test("throws when the binding is missing", () => {
    expect(() => edgecache_kv_put({}, "KV", "k", "v", 60)).toThrow();
  });
});
