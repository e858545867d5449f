// Origin fetch for src/glue/platform.rs (Platform::fetch). Unit tests: tests/unit/fetch.test.mjs.

// `fetch` with manual redirects, aborted after `timeoutMs`. Resolves the
// Response, a string (why the fetch failed: for the log only) or null (timed
// out). The race keeps a handler on the fetch, so an abort after the timeout
// is never an unhandled rejection.
//
// The body is the bytes the origin sent (`encodeResponseBody: "manual"`): a
// gzip answer stays gzip, its Content-Length counts what a read returns, and
// the worker relays and stores it unchanged (docs/caching.md, "Compressed
// answers"). Without it workerd decodes a gzip or br body on every read while
// the fields still say gzip and the coded length. Nothing here reads a body
// as text. Runtimes without the option (Node, in the unit tests) ignore it.
export async function edgecache_fetch(url, method, headers, body, timeoutMs) {
  const ctl = new AbortController();
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    const sent = fetch(url, {
      method,
      headers,
      body,
      redirect: "manual",
      signal: ctl.signal,
      encodeResponseBody: "manual",
    });
    const res = await Promise.race([sent, timeout]);
    if (res === null) ctl.abort();
    return res;
  } catch (e) {
    return String(e);
  } finally {
    clearTimeout(timer);
  }
}
