// src/glue/js/r2.js on its own, in Node: an R2 read answered as an S3 GET
// would be (200 with the object's metadata as headers, 304 when `onlyIf`
// says the copy is current, 404 when absent), a string when the read throws.
import { expect, test } from "vitest";
import { edgecache_r2_get } from "../../src/glue/js/r2.js";

const uploaded = new Date("2026-12-01T10:00:00Z");
function fakeBucket({ object, withBody = true, throws = false } = {}) {
  const calls = [];
  return {
    calls,
    async get(key, options) {
      calls.push({ key, onlyIf: Object.fromEntries(options.onlyIf.entries()) });
      if (throws) throw new Error("R2 is down");
      if (!object) return null;
      const o = {
        size: 5,
        httpEtag: '"e1"',
        uploaded,
        writeHttpMetadata(h) {
          h.set("content-type", "image/png");
          h.set("cache-control", "max-age=60");
        },
      };
      if (withBody) o.body = new Blob(["hello"]).stream();
      return o;
    },
  };
}

test("an object is a 200 with its body, httpMetadata, ETag, Last-Modified and length", async () => {
  const bucket = fakeBucket({ object: true });
  const r = await edgecache_r2_get(bucket, "media/a.png", new Headers());
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("image/png");
  expect(r.headers.get("cache-control")).toBe("max-age=60");
  expect(r.headers.get("etag")).toBe('"e1"');
  expect(r.headers.get("last-modified")).toBe(uploaded.toUTCString());
  expect(r.headers.get("content-length")).toBe("5");
  expect(await r.text()).toBe("hello");
  expect(bucket.calls).toEqual([{ key: "media/a.png", onlyIf: {} }]);
});

test("the validators go to R2 as onlyIf; an object without a body is a 304", async () => {
  const bucket = fakeBucket({ object: true, withBody: false });
  const r = await edgecache_r2_get(bucket, "k", new Headers({ "if-none-match": '"e1"' }));
  expect(r.status).toBe(304);
  expect(r.headers.get("etag")).toBe('"e1"');
  expect(bucket.calls[0].onlyIf).toEqual({ "if-none-match": '"e1"' });
});

test("no object is a 404", async () => {
  const r = await edgecache_r2_get(fakeBucket(), "k", new Headers());
  expect(r.status).toBe(404);
});

test("a read that throws, or no binding, resolves a string (for the log)", async () => {
  expect(await edgecache_r2_get(fakeBucket({ throws: true }), "k", new Headers())).toMatch(/R2 is down/);
  expect(await edgecache_r2_get(undefined, "k", new Headers())).toBe("no such R2 binding");
});
