// Hit-path experiment (benches/profile-hit.mjs compare, EXTRA=iterate): the
// match worker plus iterating the request's and the stored response's headers
// (what the glue does to hand them to the core); returns the hit as is.
export default {
  async fetch(request, env, ctx) {
    const hit = await caches.default.match(request.url);
    if (hit) {
      let n = 0;
      for (const [k, v] of request.headers) n += k.length + v.length;
      for (const [k, v] of hit.headers) n += k.length + v.length;
      if (n < 0) throw new Error("unreachable");
      return hit;
    }
    const url = new URL(request.url);
    const res = await fetch(env.ORIGIN + url.pathname + url.search);
    ctx.waitUntil(caches.default.put(request.url, res.clone()));
    return res;
  },
};
