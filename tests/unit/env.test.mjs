// src/glue/js/env.js on its own, in Node: the EDGECACHE var as JSON text.
import { describe, expect, test } from "vitest";
import { edgecache_var_json } from "../../src/glue/js/env.js";

describe("edgecache_var_json", () => {
  test("writes an object var (wrangler's [vars.EDGECACHE]) as JSON", () => {
    const env = { EDGECACHE: { origin: "https://o.example", routes: [{ path: "/a/*", ttl: "1m" }] } };
    expect(JSON.parse(edgecache_var_json(env, "EDGECACHE"))).toEqual(env.EDGECACHE);
  });

  test("passes a text var through as it is, even when it is not JSON", () => {
    expect(edgecache_var_json({ EDGECACHE: '{"origin": 1}' }, "EDGECACHE")).toBe('{"origin": 1}');
    expect(edgecache_var_json({ EDGECACHE: "not json" }, "EDGECACHE")).toBe("not json");
  });

  test("keeps integers as integers", () => {
    expect(edgecache_var_json({ V: { max_bytes: 16777216, ttl: 60 } }, "V")).toBe('{"max_bytes":16777216,"ttl":60}');
  });

  test("is null for an absent var", () => {
    expect(edgecache_var_json({}, "EDGECACHE")).toBeNull();
    expect(edgecache_var_json({ EDGECACHE: null }, "EDGECACHE")).toBeNull();
  });
});
