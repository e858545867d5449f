// Miss-path baseline that does a cache's work: `caches.default.match` (a miss in
// the bench: every URL is new), the origin fetch, and `cache.put` of a clone in
// `waitUntil`: the same I/O as edgecache's miss, in plain JavaScript, with
// nothing decided. Reported beside the pass-through proxy (which the goal names)
// to separate the runtime's cost of storing from edgecache's own.
//
// That is exactly what the hit-path baseline does on a miss, so it is the same
// code under the name the miss-path rows use.
export { default } from "./match.mjs";
