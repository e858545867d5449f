// src/glue/js/observe.js on its own, in Node: Server-Timing on the response
// about to leave, the fields the log line reads back, and the Analytics Engine
// write (a stand-in dataset; a missing or throwing one never fails a request).
import { describe, expect, test } from "vitest";
import { edgecache_finish, edgecache_has_dataset, edgecache_write_point } from "../../src/glue/js/observe.js";

describe("edgecache_finish", () => {
  test("sets Server-Timing and reads status, Cache-Status and Content-Length", () => {
    const res = new Response("hello", {
      status: 203,
      headers: { "cache-status": "edgecache; hit; ttl=5", "content-length": "5" },
    });
    expect(edgecache_finish(res, "edge;dur=1")).toBe("203\nedgecache; hit; ttl=5\n5");
    expect(res.headers.get("server-timing")).toBe("edge;dur=1");
  });

  test("leaves Server-Timing alone when there is none to send; absent fields read empty", () => {
    const res = new Response(null, { status: 204 });
    expect(edgecache_finish(res, undefined)).toBe("204\n\n");
    expect(res.headers.has("server-timing")).toBe(false);
  });

  test("a response with immutable headers goes out as it is", () => {
    const res = Response.error();
    expect(() => edgecache_finish(res, "edge;dur=0")).not.toThrow();
    expect(res.headers.has("server-timing")).toBe(false);
  });
});

describe("Analytics Engine", () => {
  test("writes the point as an object to the bound dataset", () => {
    const points = [];
    const env = { EDGECACHE_ANALYTICS: { writeDataPoint: (p) => points.push(p) } };
    expect(edgecache_has_dataset(env, "EDGECACHE_ANALYTICS")).toBe(true);
    const p = { indexes: ["r"], blobs: ["r", "hit"], doubles: [200] };
    expect(edgecache_write_point(env, "EDGECACHE_ANALYTICS", JSON.stringify(p))).toBe(true);
    expect(points).toEqual([p]);
  });

  test("no binding, or something else under its name, is no dataset", () => {
    expect(edgecache_has_dataset({}, "EDGECACHE_ANALYTICS")).toBe(false);
    expect(edgecache_has_dataset({ EDGECACHE_ANALYTICS: "text" }, "EDGECACHE_ANALYTICS")).toBe(false);
  });

  test("a dataset that throws does not throw here", () => {
    const env = { EDGECACHE_ANALYTICS: { writeDataPoint: () => { throw new Error("full"); } } };
    expect(edgecache_write_point(env, "EDGECACHE_ANALYTICS", "{}")).toBe(false);
  });
});
