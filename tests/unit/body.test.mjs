// src/glue/js/body.js on its own, in Node: slicing, the cache copy's guard,
// whole reads with their limits, cancelling. Streams here are built by hand, so
// each test controls chunk boundaries, short ends and read errors.
import { afterEach, describe, expect, test } from "vitest";
import {
  edgecache_blob_stream,
  edgecache_cancel,
  edgecache_complete_copy,
  edgecache_guard,
  edgecache_read_blob,
  edgecache_slice,
} from "../../src/glue/js/body.js";

/** Bytes 0, 1, 2, ... (mod 256), `n` of them. */
function bytes(n, from = 0) {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) % 256);
}

/**
 * A body of `total` bytes in chunks of `size`, pulled one chunk at a time (no
 * read-ahead), that ends short after `endAt` bytes or errors after `errorAt`.
 * `src.pulled` counts chunks handed out; `src.cancelled` holds the cancel reason.
 */
function source(total, size, { endAt = total, errorAt = Infinity } = {}) {
  const src = { pulled: 0, cancelled: undefined, stream: null };
  let pos = 0;
  src.stream = new ReadableStream(
    {
      pull(ctl) {
        if (pos >= errorAt) {
          ctl.error(new Error("connection reset"));
          return;
        }
        if (pos >= endAt) {
          ctl.close();
          return;
        }
        const n = Math.min(size, endAt - pos);
        ctl.enqueue(bytes(n, pos));
        pos += n;
        src.pulled += 1;
      },
      cancel(reason) {
        src.cancelled = reason ?? "cancelled";
      },
    },
    { highWaterMark: 0 },
  );
  return src;
}

/** Reads `stream` to the end: all its bytes in one array. */
async function readBytes(stream) {
  const parts = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * A stand-in for workerd's FixedLengthStream: an identity transform that errors
 * when more or fewer than `length` bytes pass through. Instances are recorded.
 */
class FakeFixedLengthStream extends TransformStream {
  static made = [];
  constructor(length) {
    let seen = 0;
    super({
      transform(chunk, ctl) {
        seen += chunk.byteLength;
        if (seen > length) throw new Error(`FixedLengthStream: over ${length} bytes`);
        ctl.enqueue(chunk);
      },
      flush() {
        if (seen !== length) throw new Error(`FixedLengthStream: ${seen} of ${length} bytes`);
      },
    });
    this.length = length;
    FakeFixedLengthStream.made.push(this);
  }
}

function withFixedLengthStream() {
  FakeFixedLengthStream.made = [];
  globalThis.FixedLengthStream = FakeFixedLengthStream;
}

afterEach(() => {
  delete globalThis.FixedLengthStream;
});

describe("edgecache_slice", () => {
  test("returns exactly bytes start..=end across chunk boundaries", async () => {
    const src = source(40, 4);
    const out = await readBytes(edgecache_slice(src.stream, 3, 13));
    expect(out).toEqual(bytes(11, 3));
  });

  test("returns one byte when start equals end", async () => {
    const src = source(40, 4);
    expect(await readBytes(edgecache_slice(src.stream, 8, 8))).toEqual(bytes(1, 8));
  });

  test("cancels the source once past end, without reading the rest", async () => {
    const src = source(4000, 4);
    await readBytes(edgecache_slice(src.stream, 3, 13));
    expect(src.cancelled).toBeDefined();
    expect(src.pulled).toBe(4);
  });

  test("ends cleanly where the source ends when it is shorter than end (no FixedLengthStream)", async () => {
    const src = source(10, 4);
    expect(await readBytes(edgecache_slice(src.stream, 6, 99))).toEqual(bytes(4, 6));
  });

  test("passes a cancel on to the source", async () => {
    const src = source(40, 4);
    await edgecache_slice(src.stream, 0, 39).cancel("client gone");
    expect(src.cancelled).toBe("client gone");
  });

  test("goes through a FixedLengthStream of end - start + 1 bytes when the runtime has one", async () => {
    withFixedLengthStream();
    const src = source(40, 4);
    const sliced = edgecache_slice(src.stream, 3, 13);
    expect(FakeFixedLengthStream.made.map((f) => f.length)).toEqual([11]);
    expect(sliced).toBe(FakeFixedLengthStream.made[0].readable);
    expect(await readBytes(sliced)).toEqual(bytes(11, 3));
  });

  test("errors instead of ending when the source is short and the runtime has FixedLengthStream", async () => {
    withFixedLengthStream();
    const src = source(10, 4);
    await expect(readBytes(edgecache_slice(src.stream, 6, 99))).rejects.toThrow(/FixedLengthStream/);
  });

});

describe("edgecache_guard", () => {
  test("passes a complete body through and resolves ok = true", async () => {
    const { stream, ok } = edgecache_guard(source(10, 4).stream, 10);
    expect(await readBytes(stream)).toEqual(bytes(10));
    expect(await ok).toBe(true);
  });

  test("resolves ok = true for a body of unknown length (-1)", async () => {
    const { stream, ok } = edgecache_guard(source(10, 4).stream, -1);
    expect(await readBytes(stream)).toEqual(bytes(10));
    expect(await ok).toBe(true);
  });

  test("errors the stream and resolves ok = false when the body ends short", async () => {
    const { stream, ok } = edgecache_guard(source(10, 4, { endAt: 6 }).stream, 10);
    await expect(readBytes(stream)).rejects.toThrow("body ended at 6 of 10 bytes");
    expect(await ok).toBe(false);
  });

  test("errors the stream and resolves ok = false when the source errors", async () => {
    const { stream, ok } = edgecache_guard(source(10, 4, { errorAt: 4 }).stream, -1);
    await expect(readBytes(stream)).rejects.toThrow("connection reset");
    expect(await ok).toBe(false);
  });

  test("resolves ok = null and cancels the source when the reader cancels", async () => {
    const src = source(10, 4);
    const { stream, ok } = edgecache_guard(src.stream, 10);
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel("range served");
    expect(await ok).toBe(null);
    expect(src.cancelled).toBe("range served");
  });

  test("goes through a FixedLengthStream of the expected length when the runtime has one", async () => {
    withFixedLengthStream();
    const { stream, ok } = edgecache_guard(source(10, 4).stream, 10);
    expect(FakeFixedLengthStream.made.map((f) => f.length)).toEqual([10]);
    expect(stream).toBe(FakeFixedLengthStream.made[0].readable);
    expect(await readBytes(stream)).toEqual(bytes(10));
    expect(await ok).toBe(true);
  });

  test("through a FixedLengthStream, a short body errors the stream and resolves ok = false", async () => {
    withFixedLengthStream();
    const { stream, ok } = edgecache_guard(source(10, 4, { endAt: 6 }).stream, 10);
    await expect(readBytes(stream)).rejects.toThrow();
    expect(await ok).toBe(false);
  });

  test("through a FixedLengthStream, a reader that cancels still resolves ok = null", async () => {
    withFixedLengthStream();
    const src = source(10, 4);
    const { stream, ok } = edgecache_guard(src.stream, 10);
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel("range served");
    expect(await ok).toBe(null);
    expect(src.cancelled).toBe("range served");
  });

  test("does not use FixedLengthStream when the length is unknown", async () => {
    withFixedLengthStream();
    const { stream } = edgecache_guard(source(10, 4).stream, -1);
    expect(FakeFixedLengthStream.made).toEqual([]);
    expect(await readBytes(stream)).toEqual(bytes(10));
  });
});

// edgecache_complete_copy reads through edgecache_read_blob (readAll): both
// resolve null for any body that is not whole.
describe.each([
  ["edgecache_read_blob", (body, expected, limit) => edgecache_read_blob(body, expected, limit)],
  [
    "edgecache_complete_copy",
    (body, expected, limit) => edgecache_complete_copy(body, expected, limit, 200, new Headers()),
  ],
])("%s", (_, read) => {
  test("resolves null when the body ends short of the expected length", async () => {
    expect(await read(source(10, 4, { endAt: 6 }).stream, 10, 1000)).toBe(null);
  });

  test("resolves null when reading the body fails", async () => {
    expect(await read(source(10, 4, { errorAt: 4 }).stream, -1, 1000)).toBe(null);
  });

  test("resolves null and cancels the source once the body passes the limit", async () => {
    const src = source(4000, 4);
    expect(await read(src.stream, -1, 10)).toBe(null);
    expect(src.cancelled).toBeDefined();
    expect(src.pulled).toBe(3);
  });

  test("resolves the blob and its size for a body exactly at the limit", async () => {
    const whole = await read(source(10, 4).stream, 10, 10);
    expect(whole.size).toBe(10);
    expect(new Uint8Array(await whole.blob.arrayBuffer())).toEqual(bytes(10));
  });

  test("resolves the blob and its size for a body of unknown length", async () => {
    const whole = await read(source(10, 4).stream, -1, 1000);
    expect(whole.size).toBe(10);
    expect(whole.blob).toBeInstanceOf(Blob);
  });

  test("resolves an empty blob when there is no body", async () => {
    const whole = await read(null, -1, 1000);
    expect(whole.size).toBe(0);
    expect(whole.blob.size).toBe(0);
  });
});

describe("edgecache_complete_copy", () => {
  test("resolves a response with the status, headers and the whole body", async () => {
    const headers = new Headers({ "content-type": "video/mp4", etag: '"v1"' });
    const copy = await edgecache_complete_copy(source(10, 4).stream, 10, 1000, 203, headers);
    expect(copy.response.status).toBe(203);
    expect(copy.response.headers.get("etag")).toBe('"v1"');
    expect(new Uint8Array(await copy.response.arrayBuffer())).toEqual(bytes(10));
    expect(copy.size).toBe(10);
  });

  test("resolves a response without a body when there is none", async () => {
    const copy = await edgecache_complete_copy(null, -1, 1000, 204, new Headers());
    expect(copy.response.status).toBe(204);
    expect(copy.response.body).toBe(null);
  });
});

describe("edgecache_blob_stream", () => {
  test("streams the blob's bytes", async () => {
    const blob = new Blob([bytes(5), bytes(5, 5)]);
    expect(await readBytes(edgecache_blob_stream(blob))).toEqual(bytes(10));
  });
});

describe("edgecache_cancel", () => {
  test("cancels a body nobody reads", () => {
    const src = source(10, 4);
    edgecache_cancel(src.stream);
    expect(src.cancelled).toBeDefined();
  });

  test("leaves a body that is being read alone", async () => {
    const src = source(10, 4);
    const reader = src.stream.getReader();
    edgecache_cancel(src.stream);
    expect(src.cancelled).toBeUndefined();
    expect((await reader.read()).value).toEqual(bytes(4));
  });

  test("accepts no body", () => {
    expect(() => edgecache_cancel(null)).not.toThrow();
  });
});
