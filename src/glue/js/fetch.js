// Origin fetch for src/glue/platform.rs (Platform::fetch). Unit tests: tests/unit/fetch.test.mjs.

// `fetch` with manual redirects, aborted after `timeoutMs`. Resolves the
// Response, a string (why the fetch failed: for the log only) or null (timed
// out). The race keeps a handler on the fetch, so an abort after the timeout
// is never an unhandled rejection.
export async function edgecache_fetch(url, method, headers, body, timeoutMs) {
  const ctl = new AbortController();
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    const sent = fetch(url, { method, headers, body, redirect: "manual", signal: ctl.signal });
    const res = await Promise.race([sent, timeout]);
    if (res === null) ctl.abort();
    return res;
  } catch (e) {
    return String(e);
  } finally {
    clearTimeout(timer);
  }
}
