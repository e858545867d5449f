// Cold-start probe: the JS match worker (match.mjs) that also imports
// edgecache's Wasm. workerd compiles an imported Wasm module when it loads the
// script, and this worker never instantiates it, so its start-up minus
// match.mjs's is the module's compile time (benches/load.mjs, cold start).
import wasm from "./edgecache.wasm";
import match from "./match.mjs";

export default {
  fetch: match.fetch,
  wasmExports: WebAssembly.Module.exports(wasm).length,
};
