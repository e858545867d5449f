// End to end: what reaches the client when the request method is one the
// worker does not know, or when the origin's answer is framed unusually
// (Transfer-Encoding: chunked, interim 1xx answers). A raw TCP origin sends
// exactly the bytes each test needs. docs/caching.md ("Methods and framing")
// describes what a user gets, including what the runtime decides before or
// instead of the worker (these tests pin that down too, so a runtime upgrade
// that changes it shows here).
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, startOrigin, startWorker, untilHit } from "./harness.mjs";

const BASE = "https://api.example.com";
let raw, methods, worker, methodWorker;

/** An origin on a raw socket: `answer(path)` gives the bytes sent back after the
 * request head (and body, per Content-Length) is read. Records each request. */
async function startRawOrigin(answer) {
  const requests = [];
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        const [method, url] = head.split(" ");
        requests.push({ method, url, head });
        sock.write(answer(url));
      }
    });
    sock.on("error", () => {});
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    hits: (prefix) => requests.filter((r) => r.url.startsWith(prefix)).length,
    close: () => new Promise((r) => (server.close(r), server.unref())),
  };
}

const BODY = '{"items":[1,2,3]}';
const chunked = (s) => `${s.length.toString(16)}\r\n${s}\r\n0\r\n\r\n`;
/** The origin's answer for each kind of framing, chosen by the path's last segment. */
function framing(url) {
  const kind = url.split("/").pop().split("?")[0];
  const common = "Content-Type: application/json\r\nCache-Control: max-age=600\r\n";
  switch (kind) {
    case "chunked":
      return `HTTP/1.1 200 OK\r\n${common}Transfer-Encoding: chunked\r\n\r\n${chunked(BODY)}`;
    case "chunked-and-length":
      // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length (a bad length here).
      return `HTTP/1.1 200 OK\r\n${common}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${chunked(BODY)}`;
    case "early-hints":
      return (
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
        `HTTP/1.1 200 OK\r\n${common}Content-Length: ${BODY.length}\r\n\r\n${BODY}`
      );
    case "continue":
      return (
        "HTTP/1.1 100 Continue\r\n\r\n" + `HTTP/1.1 200 OK\r\n${common}Content-Length: ${BODY.length}\r\n\r\n${BODY}`
      );
    default:
      return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  }
}

beforeAll(async () => {
  raw = await startRawOrigin(framing);
  methods = await startOrigin((req) => ({
    status: 200,
    headers: { "content-type": "text/plain", "cache-control": "max-age=600" },
    body: `${req.method} ${req.url}`,
  }));
  worker = await startWorker({ origin: raw.url, routes: [{ name: "api", path: "/api/*", ttl: "15m" }] });
  methodWorker = await startWorker(
    { origin: methods.url, routes: [{ name: "api", path: "/api/*", ttl: "15m" }] },
    { listen: true },
  );
});
afterAll(async () => {
  await worker?.dispose();
  await methodWorker?.dispose();
  await raw?.close();
  await methods?.close();
});

describe("origin framing does not turn into a worker error", () => {
  // `identity`: a client that accepts gzip may get a compressible body
  // compressed (and so chunked) by the runtime; uncompressed, a hit states its length.
  const identity = { headers: { "accept-encoding": "identity" } };
  for (const kind of ["chunked", "chunked-and-length"]) {
    test(`${kind}: a cached route answers 200 with the body, then hits`, async () => {
      const path = `/api/items/${kind}`;
      const r = await worker.fetch(BASE + path, identity);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(BODY);
      const hit = await untilHit(async () => {
        const x = await worker.fetch(BASE + path, identity);
        const body = await x.text();
        return { status: x.status, body, hit: cacheStatus(x)?.params.hit === true, x };
      });
      expect(hit.status).toBe(200);
      expect(hit.body).toBe(BODY);
      // A hit is framed by the cache: a Content-Length, never the origin's Transfer-Encoding.
      expect(hit.x.headers.get("content-length")).toBe(String(BODY.length));
      expect(hit.x.headers.get("transfer-encoding")).toBeNull();
      expect(raw.hits(path)).toBe(1);
    });
    test(`${kind}: a pass-through route answers 200 with the body`, async () => {
      const path = `/other/${kind}`;
      for (let i = 0; i < 2; i++) {
        const r = await worker.fetch(BASE + path);
        expect(r.status).toBe(200);
        expect(await r.text()).toBe(BODY);
        expect(r.headers.get("link")).toBeNull(); // the 103's fields stay on the 103
      }
      expect(raw.hits(path)).toBe(2);
    });
  }
  // The runtime's fetch hands the worker the interim answer itself (a Response
  // with status 103 or 100, no body) and drops the final one that follows on
  // the connection. The worker cannot recover the 200 from it: it answers a
  // clear, uncached 502 (never a 500), and a route's stale_if_error applies.
  for (const kind of ["early-hints", "continue"]) {
    for (const [where, path] of [
      ["a cached route", `/api/items/${kind}`],
      ["a pass-through route", `/other/${kind}`],
    ]) {
      test(`${kind} before the 200 on ${where}: the runtime's fetch returns the 1xx; a 502 origin_invalid, not stored`, async () => {
        for (let i = 0; i < 2; i++) {
          const r = await worker.fetch(BASE + path);
          expect(r.status).toBe(502);
          expect(cacheStatus(r)?.params.detail).toBe("origin_invalid");
          expect(r.headers.get("cache-control")).toBe("no-store");
          expect(r.headers.get("link")).toBeNull();
          await r.text();
        }
        expect(raw.hits(path)).toBe(2);
      });
    }
  }
});

/** Sends `method path` on a raw socket to the worker's HTTP address; gives the status and body. */
function rawRequest(base, method, path) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () =>
      sock.write(`${method} ${path} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n`),
    );
    let out = "";
    sock.setEncoding("latin1");
    sock.on("data", (d) => (out += d));
    sock.on("end", () => {
      const status = Number(out.split(" ")[1]);
      const body = out.slice(out.indexOf("\r\n\r\n") + 4);
      resolve({ status, out, body });
    });
    sock.on("error", reject);
  });
}

describe("methods the worker does not know pass through", () => {
  for (const method of ["PROPFIND", "QUERY", "REPORT", "PURGE"]) {
    test(`${method} on a cached route reaches the origin unchanged and is not stored`, async () => {
      const path = `/api/m/${method}`;
      const before = methods.hits(path);
      for (let i = 0; i < 2; i++) {
        const r = await methodWorker.fetch(BASE + path, { method });
        expect(r.status).toBe(200);
        expect(await r.text()).toBe(`${method} ${path}`);
      }
      expect(methods.requests.filter((q) => q.url === path).map((q) => q.method)).toEqual([method, method]);
      expect(methods.hits(path) - before).toBe(2);
    });
  }
  // workerd's HTTP parser knows a fixed list of methods (RFC 9110's, WebDAV's,
  // PATCH, PURGE, QUERY ...). Any other token (M-SEARCH, or a known one in lower
  // case) is answered 501 by the runtime before the worker runs: nothing
  // edgecache can pass on.
  for (const method of ["M-SEARCH", "get", "BREW"]) {
    test(`${method}: the runtime answers 501 before the worker; the origin sees nothing`, async () => {
      const path = `/api/wire/${method}`;
      const r = await rawRequest(methodWorker.url, method, path);
      expect(r.status).toBe(501);
      expect(r.body).toContain("Unrecognized request method");
      expect(methods.hits(path)).toBe(0);
    });
  }
  test("the Fetch API normalizes `get` to GET before it reaches the runtime", async () => {
    const path = "/api/m/lower-get";
    const r = await methodWorker.fetch(BASE + path, { method: "get" });
    expect(await r.text()).toBe(`GET ${path}`);
  });
});
