// R2 binding reads for src/glue/bucket.rs. Unit tests: tests/unit/r2.test.mjs.

// Reads `key` from an R2 bucket binding and answers as an S3 GET would, so
// one path (`response::bucket::classify`, the media flow) handles both: 200
// with the body, the object's `httpMetadata` as headers (`writeHttpMetadata`),
// its `ETag`, `Last-Modified` and `Content-Length`; 304 (headers, no body)
// when `conditional` (If-None-Match / If-Modified-Since, given to R2 as
// `onlyIf`) says the stored copy is current; 404 when there is no such
// object. Resolves a string (why, for the log only) when the read throws.
export async function edgecache_r2_get(bucket, key, conditional) {
  if (!bucket || typeof bucket.get !== "function") return "no such R2 binding";
  try {
    const onlyIf = new Headers(conditional || undefined);
    const obj = await bucket.get(key, { onlyIf });
    if (obj === null) return new Response(null, { status: 404 });
    const headers = new Headers();
    obj.writeHttpMetadata(headers);
    headers.set("etag", obj.httpEtag);
    headers.set("last-modified", obj.uploaded.toUTCString());
    if (!("body" in obj) || obj.body === undefined) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-length", String(obj.size));
    return new Response(obj.body, { status: 200, headers });
  } catch (e) {
    return String(e);
  }
}

// The binding named `name` in `env`, or undefined.
export function edgecache_binding(env, name) {
  return env ? env[name] : undefined;
}
