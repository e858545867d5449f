// The EDGECACHE var as JSON text for src/glue/mod.rs, in one call: wrangler's
// `[vars.EDGECACHE]` arrives as an object, `--var EDGECACHE:{...}` or a
// dashboard text var as a string. One string across the boundary (and one
// serde_json parse in Wasm) instead of a walk over the object field by field;
// the Wasm then needs no deserializer for JS values. null when the var is
// absent. Unit tests: tests/unit/env.test.mjs.
export function edgecache_var_json(env, name) {
  const v = env?.[name];
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : JSON.stringify(v);
}
