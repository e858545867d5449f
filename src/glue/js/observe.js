// Observability for src/glue/observe.rs. Unit tests: tests/unit/observe.test.mjs.

// Sets `Server-Timing` (when `timing` is a string) on the response about to
// leave and returns what the log line needs, in one call:
// "status\ncache-status\ncontent-length" (empty when a field is absent).
// A response whose headers are immutable keeps them as they are.
export function edgecache_finish(res, timing) {
  const h = res.headers;
  if (typeof timing === "string") {
    try {
      h.set("server-timing", timing);
    } catch {
      // immutable headers: the response goes out without it
    }
  }
  return `${res.status}\n${h.get("cache-status") ?? ""}\n${h.get("content-length") ?? ""}`;
}

// Whether `env` has an Analytics Engine dataset bound as `name`.
export function edgecache_has_dataset(env, name) {
  const ds = env?.[name];
  return ds != null && typeof ds.writeDataPoint === "function";
}

// Writes one data point (`point`: the JSON of {indexes, blobs, doubles}) to
// the dataset bound as `name`. writeDataPoint returns at once (the runtime
// sends the point after the response); a throw never fails the request.
export function edgecache_write_point(env, name, point) {
  try {
    env[name].writeDataPoint(JSON.parse(point));
    return true;
  } catch {
    return false;
  }
}
