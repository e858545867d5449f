// KV writes for src/glue/kv.rs. Unit tests: tests/unit/kv.test.mjs.

// `env[binding].put(key, value, { expirationTtl })` in one call from Wasm (a
// promise; a missing binding throws). worker's KvStore::put took the value
// through serde-wasm-bindgen and `f64::to_string`, and the options through a
// serializer: code the Wasm no longer carries.
export function edgecache_kv_put(env, binding, key, value, ttl) {
  return env[binding].put(key, value, { expirationTtl: ttl });
}
