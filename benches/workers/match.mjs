// Hit-path and cold-start baseline: the least a JavaScript cache worker can do.
// A hit is `caches.default.match` and return. A miss (only while the bench warms
// the cache) fetches ORIGIN and stores the response, so the measured rounds are
// all hits.
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
