// Header lists across the Wasm boundary for src/glue/convert.rs, as one string
// each way ("name\nvalue\n" per field) instead of one JS call per field. Fetch
// forbids LF in header names and values, so the separator cannot occur inside a
// field. Unit tests: tests/unit/headers.test.mjs.

export function edgecache_headers_flat(h) {
  let s = "";
  for (const [k, v] of h) s += k + "\n" + v + "\n";
  return s;
}
export function edgecache_headers_from_flat(s) {
  const h = new Headers();
  const p = s.split("\n");
  for (let i = 0; i + 1 < p.length; i += 2) h.append(p[i], p[i + 1]);
  return h;
}
// A response the worker answers or stores. Every body it carries is the bytes
// the origin sent (src/glue/js/fetch.js), so a Content-Encoding among the
// fields describes them as they are: `encodeBody: "manual"` tells workerd not
// to code them again (by default it would gzip a body under
// `Content-Encoding: gzip` on its way out, or into the cache).
export function edgecache_response(body, status, s) {
  return new Response(body, { status, headers: edgecache_headers_from_flat(s), encodeBody: "manual" });
}
