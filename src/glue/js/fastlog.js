// The fast path's shared read for src/glue/fastlog.rs: one Cache API entry per
// data centre and poll interval holds the log as one isolate read it, so the
// writer sees about one read per location per interval. Unit tests:
// tests/unit/fastlog.test.mjs.

/** The text stored under `key` in this data centre's cache, or null. */
export async function edgecache_fastlog_get(key) {
  try {
    const r = await caches.default.match(key);
    return r ? await r.text() : null;
  } catch {
    return null;
  }
}

/** Stores `text` under `key` for `maxAge` seconds (best effort). */
export async function edgecache_fastlog_put(key, text, maxAge) {
  try {
    const headers = { "content-type": "application/json", "cache-control": `max-age=${maxAge}` };
    await caches.default.put(key, new Response(text, { headers }));
  } catch {
    // A location where the Cache API does nothing (workers.dev) or fails:
    // each isolate reads the writer itself.
  }
}

/**
 * Races `promise` against `ms`: resolves its value, or rejects with
 * "timed out" (a handler stays on the promise, so a late rejection is never
 * unhandled).
 */
export function edgecache_within(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
