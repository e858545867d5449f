// The purge webhook's body, read only as far as the limit allows: a body sent
// without Content-Length (chunked) is never read whole just to be refused.

// Reads `body` (a ReadableStream, or null) until it ends or `limit` bytes are
// in hand. Resolves { bytes, complete }: `bytes` is a Uint8Array of what was
// read (at most `limit` bytes), `complete` is true when the stream ended within
// the limit; when it did not, the rest is cancelled unread. A read error
// resolves null.
export async function edgecache_read_upto(body, limit) {
  if (!body) return { bytes: new Uint8Array(0), complete: true };
  const reader = body.getReader();
  const chunks = [];
  let n = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = limit - n;
      if (value.byteLength > room) {
        if (room > 0) {
          chunks.push(value.subarray(0, room));
          n += room;
        }
        await reader.cancel("over the limit").catch(() => {});
        return { bytes: concat(chunks, n), complete: false };
      }
      chunks.push(value);
      n += value.byteLength;
    }
  } catch {
    return null;
  }
  return { bytes: concat(chunks, n), complete: true };
}

function concat(chunks, n) {
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
