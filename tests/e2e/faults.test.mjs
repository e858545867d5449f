// Faults (hardening issue): an origin that resets, truncates, sends malformed or
// huge headers, or flaps 5xx. The worker never panics, never stores a truncated
// or error body, and serves stale only where the route allows.
import net from "node:net";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { cacheStatus, startWorker } from "./harness.mjs";

// A raw TCP origin: each path picks a misbehaviour; "/ok/..." answers properly.
let mode = {};
let seen = [];
const server = net.createServer((sock) => {
  let buf = "";
  sock.on("data", (d) => {
    buf += d;
    if (!buf.includes("\r\n\r\n")) return;
    const path = buf.split(" ")[1];
    seen.push(path);
    const m = mode[path] ?? "ok";
    const ok = (body, extra = "") =>
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: public, max-age=600\r\nContent-Length: ${body.length}\r\n${extra}Connection: close\r\n\r\n${body}`;
    if (m === "reset") return sock.resetAndDestroy?.() ?? sock.destroy();
    if (m === "truncate") {
      sock.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: public, max-age=600\r\nContent-Length: 1000\r\n\r\n{\"partial\":");
      return setTimeout(() => sock.destroy(), 50);
    }
    if (m === "truncate-large") {
      // Past the buffered-copy limit (4 MiB): the streamed path.
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: public, max-age=600\r\nContent-Length: ${6 * 1024 * 1024}\r\n\r\n`);
      sock.write(Buffer.alloc(1024 * 1024, 7));
      return setTimeout(() => sock.destroy(), 50);
    }
    if (m === "malformed") return sock.end("HTTP/1.1 200 OK\r\nBad Header Line Without Colon\r\n\r\n{}");
    if (m === "huge-header") return sock.end(ok('{"ok":true}', `X-Huge: ${"a".repeat(200_000)}\r\n`));
    if (m === "garbage") return sock.end("this is not http\r\n\r\n");
    if (m === "flap") {
      mode[path] = "flap-ok";
      return sock.end("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown");
    }
    if (m === "flap-ok") mode[path] = "flap";
    sock.end(ok(JSON.stringify({ ok: true, path })));
  });
  sock.on("error", () => {});
});
let worker;
beforeAll(async () => {
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  worker = await startWorker({
    origin: `http://127.0.0.1:${server.address().port}`,
    routes: [
      { name: "strict", path: "/api/*", ttl: "15m", timeout: "2s" },
      { name: "forgiving", path: "/soft/*", ttl: "1s", stale_if_error: "1h", timeout: "2s" },
    ],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

const get = async (path) => {
  const r = await worker.fetch(`https://api.example.com${path}`);
  let text = null;
  try {
    text = await r.text();
  } catch (e) {
    text = `<body error: ${e.message}>`;
  }
  return { status: r.status, cs: cacheStatus(r), text };
};

for (const m of ["reset", "malformed", "garbage"]) {
  test(`an origin that answers with ${m} gets a 502, nothing stored, and the worker keeps serving`, async () => {
    const path = `/api/${m}/`;
    mode[path] = m;
    const r = await get(path);
    expect(r.status).toBe(502);
    expect(r.cs.params.stored).toBeUndefined();
    mode[path] = "ok";
    const next = await get(path);
    expect(next.status).toBe(200);
    expect(next.cs.params.fwd).toBe("miss");
  });
}

test("a truncated body is never stored", async () => {
  const path = "/api/truncate/";
  mode[path] = "truncate";
  const r = await get(path);
  expect(r.text).not.toBe('{"partial":'); // a short body is never passed off as whole
  mode[path] = "ok";
  await new Promise((res) => setTimeout(res, 200)); // let any put in wait_until settle
  const next = await get(path);
  expect(next.status).toBe(200);
  expect(next.cs.params.hit).toBeUndefined();
  expect(JSON.parse(next.text)).toEqual({ ok: true, path });
});

test("a truncated large (streamed) body is never served as whole", async () => {
  const path = "/api/truncate-large/";
  mode[path] = "truncate-large";
  const r = await get(path);
  expect(r.text.length).toBeLessThan(6 * 1024 * 1024);
  mode[path] = "ok";
  await new Promise((res) => setTimeout(res, 300));
  // A runtime may have kept a short copy: serving it must fail loudly (a body
  // error), never pass a short body as complete, and the entry must then go.
  const next = await get(path);
  if (next.cs.params.hit) expect(next.text).toMatch(/^<body error/);
  else expect(JSON.parse(next.text)).toEqual({ ok: true, path });
  await new Promise((res) => setTimeout(res, 200));
  const after = await get(path);
  expect(after.status).toBe(200);
  expect(JSON.parse(after.text)).toEqual({ ok: true, path });
});

test("huge origin headers: the worker does not crash and stores nothing broken", async () => {
  const path = "/api/huge-header/";
  mode[path] = "huge-header";
  const r = await get(path);
  expect([200, 502]).toContain(r.status);
  if (r.status === 200) expect(JSON.parse(r.text)).toEqual({ ok: true });
  mode[path] = "ok";
  const after = await get("/api/after-huge/");
  expect(after.status).toBe(200);
});

test("a flapping origin: 5xx answers are never stored, good ones are", async () => {
  const path = "/api/flap/";
  mode[path] = "flap";
  const first = await get(path);
  expect(first.status).toBe(503);
  expect(first.cs.params.stored).toBeUndefined();
  const second = await get(path);
  expect(second.status).toBe(200);
  expect(second.cs.params.ttl).toBeDefined();
  const third = await get(path);
  expect(third.cs.params.hit).toBe(true);
});

test("stale is served on origin faults only where the route allows it", async () => {
  for (const [prefix, allowed] of [["/soft", true], ["/api", false]]) {
    const path = `${prefix}/stale-on-reset/`;
    mode[path] = "ok";
    await get(path);
    await new Promise((res) => setTimeout(res, 1100)); // past the 1 s TTL of /soft
    mode[path] = "reset";
    const r = await get(path);
    if (allowed) {
      expect(r.status).toBe(200);
      expect(r.cs.params.fwd).toBe("stale");
    } else {
      // /api has a 15 m TTL: still fresh, so a hit; never a stale-on-error answer
      expect(r.cs.params.fwd).not.toBe("stale");
    }
  }
});
