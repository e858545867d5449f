// Body helpers for src/glue/body.rs. Bodies stay JS streams (or Blobs in JS
// memory): nothing here passes bytes through Wasm memory. Unit tests:
// tests/unit/body.test.mjs.

// Bytes start..=end of `body`, read chunk by chunk. Once `end` is passed the
// source is cancelled (on a tee'd miss only this branch stops; the cache's copy
// keeps streaming). The result has a fixed length where the runtime offers
// FixedLengthStream, so the 206 carries Content-Length, and a source that ends
// short errors the response instead of passing for complete.
export function edgecache_slice(body, start, end) {
  const stop = end + 1;
  let pos = 0;
  const reader = body.getReader();
  const sliced = new ReadableStream({
    async pull(ctl) {
      for (;;) {
        if (pos >= stop) {
          ctl.close();
          await reader.cancel().catch(() => {});
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          ctl.close();
          return;
        }
        const from = pos;
        pos += value.byteLength;
        if (pos <= start) continue;
        ctl.enqueue(value.subarray(Math.max(0, start - from), Math.min(value.byteLength, stop - from)));
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (typeof FixedLengthStream === "function") {
    const fixed = new FixedLengthStream(stop - start);
    sliced.pipeTo(fixed.writable).catch(() => {});
    return fixed.readable;
  }
  return sliced;
}

// The cache's copy of a body, guarded: it errors instead of ending when the
// source errors or ends short of `expected` bytes (-1: unknown), and with a
// known length it is a FixedLengthStream, so the Cache API sees a body that
// does not add up. `ok` resolves true only for a complete body; the glue
// deletes the entry when it resolves false (a runtime may keep what it got);
// null means the reader cancelled before the end (nothing learned).
export function edgecache_guard(body, expected) {
  let count = 0;
  let settle;
  const ok = new Promise((r) => (settle = r));
  const reader = body.getReader();
  const guarded = new ReadableStream({
    async pull(ctl) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          if (expected >= 0 && count !== expected) {
            settle(false);
            ctl.error(new Error(`body ended at ${count} of ${expected} bytes`));
          } else {
            settle(true);
            ctl.close();
          }
          return;
        }
        count += value.byteLength;
        ctl.enqueue(value);
      } catch (e) {
        settle(false);
        ctl.error(e);
      }
    },
    cancel(reason) {
      // The reader stopped early (e.g. a byte range was served): nothing is known
      // about the rest of the body, so this is not evidence of truncation.
      settle(null);
      return reader.cancel(reason);
    },
  });
  let stream = guarded;
  if (expected >= 0 && typeof FixedLengthStream === "function") {
    const fixed = new FixedLengthStream(expected);
    guarded.pipeTo(fixed.writable).catch(() => settle(false));
    stream = fixed.readable;
  }
  return { stream, ok };
}

// Reads `body` until it ends or `limit` bytes are in hand: resolves
// { chunks, n, complete }, `complete` true when the stream ended within the
// limit; when it did not, the chunks stop at the limit and the rest is
// cancelled unread. A read error resolves null.
async function readUpTo(body, limit) {
  const reader = body.getReader();
  const chunks = [];
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { chunks, n, complete: true };
      const room = limit - n;
      if (value.byteLength > room) {
        if (room > 0) {
          chunks.push(value.subarray(0, room));
          n += room;
        }
        await reader.cancel("over the limit").catch(() => {});
        return { chunks, n, complete: false };
      }
      chunks.push(value);
      n += value.byteLength;
    }
  } catch {
    return null;
  }
}

// Reads a body to the end in JS memory (never Wasm), up to `limit` bytes, and
// resolves a Blob of it only when complete (no read error, within `limit`;
// `expected` bytes when known >= 0), else null.
async function readAll(body, expected, limit) {
  const read = await readUpTo(body, limit);
  if (!read || !read.complete) return null;
  if (expected >= 0 && read.n !== expected) return null;
  return new Blob(read.chunks);
}

// The purge webhook's body, read only as far as the limit allows (a body sent
// without Content-Length is never read whole just to be refused): resolves
// { bytes, complete }, `bytes` a Uint8Array of at most `limit` bytes (see
// readUpTo), or null on a read error.
export async function edgecache_read_upto(body, limit) {
  if (!body) return { bytes: new Uint8Array(0), complete: true };
  const read = await readUpTo(body, limit);
  if (!read) return null;
  const bytes = new Uint8Array(read.n);
  let at = 0;
  for (const c of read.chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, complete: read.complete };
}

// The cache's copy of a body, read whole (see readAll): resolves
// { response, blob, size } for cache.put (and the memory tier) only when the
// body is complete, else null. A truncated body never reaches a cache.
export async function edgecache_complete_copy(body, expected, limit, status, headers) {
  const whole = await edgecache_read_blob(body, expected, limit);
  if (!whole) return null;
  // The bytes as the origin sent them (see edgecache_response in headers.js).
  const response = new Response(body ? whole.blob : null, { status, headers, encodeBody: "manual" });
  return { response, ...whole };
}

// A body (or none) read whole: { blob, size } or null (see readAll).
export async function edgecache_read_blob(body, expected, limit) {
  const blob = body ? await readAll(body, expected, limit) : new Blob([]);
  return blob ? { blob, size: blob.size } : null;
}

// A Blob's bytes as a stream (for ranges and HEAD of a memory entry).
export function edgecache_blob_stream(blob) {
  return blob.stream();
}

// Stops reading a body nobody will consume (HEAD, 304, 416 on a tee'd miss):
// an unread tee branch would otherwise buffer the whole object.
export function edgecache_cancel(body) {
  if (body && !body.locked) body.cancel().catch(() => {});
}

// A gzip body decoded, for a client that prefers another coding
// (src/response/coding.rs decides; its fields already say identity). A body
// that is not valid gzip errors the stream: the client sees a failed transfer.
export function edgecache_gunzip(body) {
  return body.pipeThrough(new DecompressionStream("gzip"));
}

// The Wasm imports the functions above through this one object
// (`js_namespace = edgecache_body` in src/glue/body.rs). Imported one by one,
// each would get its own entry under the same module name in wasm-bindgen's
// import object (0.2.130 writes one per function), and esbuild warns about
// every duplicate key when it bundles build/index.js.
export const edgecache_body = {
  edgecache_slice,
  edgecache_cancel,
  edgecache_guard,
  edgecache_complete_copy,
  edgecache_read_blob,
  edgecache_read_upto,
  edgecache_blob_stream,
  edgecache_gunzip,
};
