// The purge webhook reads a body sent without Content-Length (chunked) only up
// to its limit: a sender that streams on and on gets 413 after about 64 KiB,
// not after the worker has read (and buffered) everything it sent.
import http from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { signWebhook, startOrigin, startWorker } from "./harness.mjs";

let origin, worker;

beforeAll(async () => {
  origin = await startOrigin(() => ({ status: 200, body: "ok" }));
  worker = await startWorker({ origin: origin.url, routes: [] }, { listen: true, quiet: true });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});

/**
 * POSTs a chunked body to the webhook, 16 KiB at a time, until the worker
 * answers or `maxBytes` have been sent (then the body ends). Resolves the
 * status, the answer's text and how many bytes had been written by then.
 */
function streamWebhook({ maxBytes }) {
  const { hostname: host, port } = new URL(worker.url);
  const headers = { ...signWebhook("{}"), "content-type": "application/json", "transfer-encoding": "chunked" };
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request({ host, port, path: "/__edgecache/purge", method: "POST", headers }, (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        resolve({ status: res.statusCode, text, sentWhenAnswered });
        req.destroy();
      });
    });
    req.on("error", (e) => (answered ? undefined : reject(e)));
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const pump = () => {
      while (!answered && sent < maxBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return req.once("drain", pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

test("a chunked body past the limit is refused with 413 without being read to its end", async () => {
  const r = await streamWebhook({ maxBytes: 64 * 1024 * 1024 });
  expect(r.status).toBe(413);
  expect(r.text).toContain("body is over the 65536-byte limit");
  // The sender was still sending: far less than the 64 MiB it would have sent
  // had the worker read the whole body before answering.
  expect(r.sentWhenAnswered).toBeLessThan(16 * 1024 * 1024);
}, 60_000);

test("a chunked body within the limit is read and verified as usual", async () => {
  const r = await streamWebhook({ maxBytes: 16 * 1024 });
  // 16 KiB of "a" is no JSON purge body, and it is not what was signed: the
  // signature check answers, not the size check.
  expect(r.status).not.toBe(413);
  expect([400, 401]).toContain(r.status);
});
