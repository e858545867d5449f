// Interim 1xx answers (issue 13; protocol.test.mjs has the rest): the runtime's
// fetch hands the worker the first interim response as if final. The worker
// answers a clean 502, and the answers to the requests that follow are each
// their own: nothing left on the origin connection is read as another
// request's answer (docs/caching.md).
import net from "node:net";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { cacheStatus, startWorker } from "./harness.mjs";

// A raw TCP origin that keeps its connections alive (several requests per
// socket), so an answer left on a connection could be read as the next one's.
let seen = [];
const body = JSON.stringify({ ok: true });
const answer = (b, cc = "public, max-age=600") =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: ${cc}\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
const server = net.createServer((sock) => {
  let buf = "";
  sock.on("data", (d) => {
    buf += d;
    while (buf.includes("\r\n\r\n")) {
      const i = buf.indexOf("\r\n\r\n");
      const [method, path] = buf.slice(0, i).split(" ");
      buf = buf.slice(i + 4);
      seen.push(`${method} ${path}`);
      if (path.includes("/interim/")) {
        sock.write("HTTP/1.1 100 Continue\r\n\r\n");
        sock.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
        sock.write(answer(body));
      } else {
        sock.write(answer(JSON.stringify({ path }), "no-store"));
      }
    }
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

for (const where of ["/api/interim/", "/elsewhere/interim/"]) {
  test(`after interim 100 and 103 answers (${where}), a 502 and the next answers are their own`, async () => {
    // The runtime's fetch returns the first interim response as the answer;
    // no response can carry a 1xx status on, so the worker says so plainly.
    const r = await worker.fetch(`https://api.example.com${where}`);
    expect(r.status).toBe(502);
    expect(cacheStatus(r).params.detail).toBe("origin_invalid");
    expect(cacheStatus(r).params.ttl).toBeUndefined();
    // The next answers are each request's own (no answer left over from the
    // interim exchange is read as another request's).
    for (const p of ["/api/after/1/", "/elsewhere/after/2/"]) {
      const next = await worker.fetch(`https://api.example.com${p}`);
      expect(next.status).toBe(200);
      expect(await next.json()).toEqual({ path: p });
    }
  });
}
