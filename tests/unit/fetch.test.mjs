// src/glue/js/fetch.js on its own, in Node: the origin fetch resolves the
// Response, a string (network error) or null (timed out), never rejects, and
// never follows redirects. An origin on 127.0.0.1 answers, redirects or hangs.
import http from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { edgecache_fetch } from "../../src/glue/js/fetch.js";

let origin;
const requests = [];
const hung = []; // promises that settle when a hung request's connection closes

beforeAll(async () => {
  const server = http.createServer(async (req, res) => {
    if (req.url === "/hang") {
      hung.push(new Promise((resolve) => res.on("close", () => resolve("closed"))));
      return; // never answers
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "/ok" });
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  origin = { server, url: `http://127.0.0.1:${server.address().port}` };
});

afterAll(async () => {
  origin.server.closeAllConnections();
  await new Promise((r) => origin.server.close(r));
});

/** What `promise` settles to, or "pending" when it has not settled after `ms`. */
function within(promise, ms) {
  return Promise.race([promise, new Promise((r) => setTimeout(() => r("pending"), ms))]);
}

afterEach(() => {
  requests.length = 0;
  hung.length = 0;
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("edgecache_fetch against an origin", () => {
  test("resolves the origin's Response", async () => {
    const res = await edgecache_fetch(`${origin.url}/ok`, "GET", new Headers(), null, 5000);
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello");
  });

  test("sends the method, headers and body it is given", async () => {
    const headers = new Headers({ "x-edgecache-test": "yes" });
    await edgecache_fetch(`${origin.url}/echo`, "POST", headers, "payload", 5000);
    expect(requests).toMatchObject([
      { method: "POST", url: "/echo", headers: { "x-edgecache-test": "yes" }, body: "payload" },
    ]);
  });

  test("resolves a redirect as it is, without following it", async () => {
    const res = await edgecache_fetch(`${origin.url}/redirect`, "GET", new Headers(), null, 5000);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/ok");
    expect(requests.map((r) => r.url)).toEqual(["/redirect"]);
  });

  test("resolves null when the origin does not answer in time", async () => {
    const res = await edgecache_fetch(`${origin.url}/hang`, "GET", new Headers(), null, 100);
    expect(res).toBe(null);
  });

  test("closes the connection of a request that timed out", async () => {
    await edgecache_fetch(`${origin.url}/hang`, "GET", new Headers(), null, 250);
    await vi.waitFor(() => expect(hung).toHaveLength(1));
    expect(await within(hung[0], 2000)).toBe("closed");
  });

  test("resolves a string when the connection is refused", async () => {
    const closed = http.createServer();
    await new Promise((r) => closed.listen(0, "127.0.0.1", r));
    const { port } = closed.address();
    await new Promise((r) => closed.close(r));
    const res = await edgecache_fetch(`http://127.0.0.1:${port}/`, "GET", new Headers(), null, 5000);
    expect(typeof res).toBe("string");
    expect(res).toMatch(/fetch failed/);
  });
});

describe("edgecache_fetch with a stub fetch", () => {
  test("asks for manual redirects", async () => {
    const seen = [];
    vi.stubGlobal("fetch", async (url, init) => {
      seen.push(init);
      return new Response("ok");
    });
    await edgecache_fetch("http://origin.test/", "GET", new Headers(), null, 5000);
    expect(seen.map((init) => init.redirect)).toEqual(["manual"]);
  });

  test("leaves no timer behind once the origin answers", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.stubGlobal("fetch", async () => new Response("ok"));
    await edgecache_fetch("http://origin.test/", "GET", new Headers(), null, 5000);
    expect(vi.getTimerCount()).toBe(0);
  });

  test("resolves a string when fetch throws synchronously", async () => {
    vi.stubGlobal("fetch", () => {
      throw new TypeError("invalid URL");
    });
    expect(await edgecache_fetch("nonsense", "GET", new Headers(), null, 5000)).toBe("TypeError: invalid URL");
  });

  test("leaves no unhandled rejection when the aborted fetch rejects after the timeout", async () => {
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      vi.stubGlobal(
        "fetch",
        (url, init) =>
          new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(init.signal.reason))),
      );
      expect(await edgecache_fetch("http://origin.test/", "GET", new Headers(), null, 10)).toBe(null);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
