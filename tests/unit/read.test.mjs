// edgecache_read_upto (src/glue/js/body.js) on its own: the webhook body is read
// only up to the limit.
import { expect, test } from "vitest";
import { edgecache_read_upto } from "../../src/glue/js/body.js";

/** `total` bytes in chunks of `size` (Infinity: a body that never ends). */
function source(total, size, { errorAt = Infinity } = {}) {
  const src = { pulled: 0, cancelled: undefined, stream: null };
  let pos = 0;
  src.stream = new ReadableStream(
    {
      pull(ctl) {
        if (pos >= errorAt) return ctl.error(new Error("connection reset"));
        if (pos >= total) return ctl.close();
        const n = Math.min(size, total - pos);
        ctl.enqueue(new Uint8Array(n).fill(pos % 251));
        pos += n;
        src.pulled++;
      },
      cancel(reason) {
        src.cancelled = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return src;
}

test("a body within the limit is read whole and complete", async () => {
  const src = source(100, 7);
  const r = await edgecache_read_upto(src.stream, 100);
  expect(r.complete).toBe(true);
  expect(r.bytes.byteLength).toBe(100);
  expect(src.cancelled).toBeUndefined();
});

test("a body that never ends is read only up to the limit, and the rest is cancelled", async () => {
  const src = source(Infinity, 1000);
  const r = await edgecache_read_upto(src.stream, 4096);
  expect(r.complete).toBe(false);
  expect(r.bytes.byteLength).toBe(4096);
  expect(src.pulled).toBe(5);
  expect(src.cancelled).toBe("over the limit");
});

test("one byte over the limit is not complete", async () => {
  const r = await edgecache_read_upto(source(101, 101).stream, 100);
  expect(r.complete).toBe(false);
  expect(r.bytes.byteLength).toBe(100);
});

test("the bytes come back in order across chunks", async () => {
  const r = await edgecache_read_upto(source(10, 3).stream, 64);
  expect(Array.from(r.bytes)).toEqual([0, 0, 0, 3, 3, 3, 6, 6, 6, 9]);
});

test("no body is an empty, complete body", async () => {
  expect(await edgecache_read_upto(null, 10)).toEqual({ bytes: new Uint8Array(0), complete: true });
});

test("a read error is null", async () => {
  expect(await edgecache_read_upto(source(100, 10, { errorAt: 30 }).stream, 1000)).toBeNull();
});
