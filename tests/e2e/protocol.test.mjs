// Protocol edges (issue 13): methods the worker has no name for pass through to
// the origin; an origin answer framed with Transfer-Encoding: chunked is relayed
// and cached like any other; interim 1xx responses, which the runtime's fetch
// hands over as if final, are a clean 502 (or the stale entry), never a 500,
// and never mix up the answers that follow (docs/caching.md).
import net from "node:net";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { cacheStatus, startWorker } from "./harness.mjs";

// A raw TCP origin, so a test sends exactly the bytes it wants.
let seen = [];
const body = JSON.stringify({ ok: true });
const chunked = (extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: public, max-age=600\r\n${extra}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
  `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const plain = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: public, max-age=600\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
const server = net.createServer((sock) => {
  let buf = "";
  sock.on("data", (d) => {
    buf += d;
    if (!buf.includes("\r\n\r\n")) return;
    const [method, path] = buf.split(" ");
    seen.push(`${method} ${path}`);
    if (path.includes("/chunked/")) return sock.end(chunked());
    if (path.includes("/after/")) {
      const own = JSON.stringify({ path });
      return sock.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${own.length}\r\n\r\n${own}`);
    }
    if (path.includes("/interim/")) {
      sock.write("HTTP/1.1 100 Continue\r\n\r\n");
      sock.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
      return setTimeout(() => sock.end(plain), 20);
    }
    sock.end(plain);
  });
  sock.on("error", () => {});
});

let worker;
beforeAll(async () => {
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  worker = await startWorker({
    origin: `http://127.0.0.1:${server.address().port}`,
    routes: [{ name: "api", path: "/api/*", ttl: "15m", timeout: "2s" }],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

// workerd itself answers methods outside its own list (M-SEARCH) with 501
// before any worker runs; every method it passes on reaches the origin as sent.
for (const method of ["PROPFIND", "PURGE", "REPORT", "MKCOL"]) {
  test(`${method}, a method the worker has no name for, reaches the origin`, async () => {
    const r = await worker.fetch("https://api.example.com/api/things/", { method });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(body);
    expect(seen).toEqual([`${method} /api/things/`]);
    expect(cacheStatus(r).params.fwd).toBe("method");
  });
}

for (const where of ["/api/chunked/", "/elsewhere/chunked/"]) {
  test(`a chunked origin answer is relayed (${where})`, async () => {
    const r = await worker.fetch(`https://api.example.com${where}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(body);
  });
}

test("a chunked answer on a cached route is stored and then hit", async () => {
  const first = await worker.fetch("https://api.example.com/api/chunked/stored/");
  expect(await first.text()).toBe(body);
  expect(cacheStatus(first).params.stored).toBe(true);
  let hit;
  for (let i = 0; i < 40; i++) {
    hit = await worker.fetch("https://api.example.com/api/chunked/stored/");
    if (cacheStatus(hit).params.hit) break;
    await hit.arrayBuffer();
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(cacheStatus(hit).params.hit).toBe(true);
  expect(await hit.text()).toBe(body);
});

for (const where of ["/api/interim/", "/elsewhere/interim/"]) {
  test(`interim 100 and 103 responses before the final one are a 502, not a 500 (${where})`, async () => {
    // The runtime's fetch returns the first interim response as the answer;
    // no response can carry a 1xx status on, so the worker says so plainly.
    const r = await worker.fetch(`https://api.example.com${where}`);
    expect(r.status).toBe(502);
    expect(cacheStatus(r).params.detail).toBe("origin_invalid");
    expect(cacheStatus(r).params.stored).toBeUndefined();
    // The next answers are each request's own (no answer left over from the
    // interim exchange is read as another request's).
    for (const p of ["/api/after/1/", "/elsewhere/after/2/"]) {
      const next = await worker.fetch(`https://api.example.com${p}`);
      expect(next.status).toBe(200);
      expect(await next.json()).toEqual({ path: p });
    }
  });
}
