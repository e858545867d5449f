// Hit-path experiment (benches/profile-hit.mjs compare, EXTRA=rebuild): the
// match worker plus what edgecache's glue makes the runtime do on a hit — copy
// the stored headers, add one, and build a new Response around the stored body.
export default {
  async fetch(request, env, ctx) {
    const hit = await caches.default.match(request.url);
    if (hit) {
      const h = new Headers(hit.headers);
      h.append("cache-status", "edgecache; hit");
      return new Response(hit.body, { status: hit.status, headers: h });
    }
    const url = new URL(request.url);
    const res = await fetch(env.ORIGIN + url.pathname + url.search);
    ctx.waitUntil(caches.default.put(request.url, res.clone()));
    return res;
  },
};
