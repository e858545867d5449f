// Miss-path baseline that does a cache's work: `caches.default.match` (a miss in
// the bench: every URL is new), the origin fetch, and `cache.put` of a clone in
// `waitUntil`: the same I/O as edgecache's miss, in plain JavaScript, with
// nothing decided. Reported beside the pass-through proxy (which the goal names)
// to separate the runtime's cost of storing from edgecache's own.
export default {
  async fetch(request, env, ctx) {
    const cache = caches.default;
    const hit = await cache.match(request.url);
    if (hit) return hit;
    const url = new URL(request.url);
    const res = await fetch(env.ORIGIN + url.pathname + url.search);
    ctx.waitUntil(cache.put(request.url, res.clone()));
    return res;
  },
};
