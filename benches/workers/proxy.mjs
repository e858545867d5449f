// Miss-path baseline: a pass-through proxy. Sends the request to ORIGIN as it
// came (method, headers, body) and returns the answer; no cache, no key.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
