// The Cache API lookup for src/glue/platform.rs (Platform::cache_match). Unit tests: tests/unit/cache.test.mjs.
import { edgecache_headers_flat } from "./headers.js";

// `caches.default.match(key)` and the entry's header list in its flat form
// ("name\nvalue\n" per field, see headers.js), in one call from Wasm: resolves
// [response, flat] or null for no entry. The Rust path (worker::Cache) made
// about a dozen boundary calls for the same: the global, `caches`, `default`,
// an options object, the match, five reads converting the response, and the
// headers again for the core's list.
export async function edgecache_match(key) {
  const r = await caches.default.match(key);
  return r ? [r, edgecache_headers_flat(r.headers)] : null;
}
