// End to end with the real demo origin: Django + DRF behind the worker, with
// the shipped wrangler.toml routes. A course edited through Django sends a
// signed purge (post_save → transaction.on_commit) and the next reads show the
// new data on every page and filter. Django's purges reach the worker through a
// recording relay, so a test can count the webhooks one change sent.
import { execFileSync } from "node:child_process";
import http from "node:http";
import zlib from "node:zlib";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cacheStatus, checkedVar, DJANGO_DIR, freePort, SECRETS, startDemoOrigin, startOrigin, startWorker, untilHit } from "./harness.mjs";

const ADMIN_TOKEN = "ad".repeat(20);

let worker, django, originUrl, relay;

beforeAll(async () => {
  execFileSync("bash", [path.join(DJANGO_DIR, "setup.sh")], { stdio: "ignore" });
  const port = await freePort();
  originUrl = `http://127.0.0.1:${port}`;
  // The shipped config, as the worker receives it, pointed at this origin.
  worker = await startWorker({ ...checkedVar("wrangler.toml"), origin: originUrl }, { listen: true });
  // Forwards each webhook to the worker as it came, answers the worker's answer, and
  // records both (relay.requests; rec.answer).
  relay = await startOrigin(async (rec) => {
    const headers = Object.fromEntries(Object.entries(rec.headers).filter(([k]) => k.startsWith("webhook-") || k === "content-type"));
    const r = await fetch(`${worker.url}/__edgecache/purge`, { method: "POST", headers, body: rec.body });
    rec.answer = { status: r.status, body: await r.text() };
    return { status: r.status, headers: { "content-type": r.headers.get("content-type") ?? "text/plain" }, body: rec.answer.body };
  });
  django = await startDemoOrigin({
    port,
    env: {
      EDGECACHE_PURGE_URL: `${relay.url}/__edgecache/purge`,
      EDGECACHE_PURGE_SECRET: SECRETS.EDGECACHE_WEBHOOK_SECRET,
      EDGECACHE_PURGE_SYNC: "1",
    },
  });
}, 120_000);

afterAll(async () => {
  django?.kill();
  await relay?.close();
  await worker?.dispose();
});

const viaWorker = async (p) => {
  const r = await fetch(`${worker.url}${p}`, { headers: { accept: "application/json" } });
  const cs = cacheStatus(r);
  return { status: r.status, cs, hit: cs?.params.hit === true, body: await r.json() };
};

test("the demo API is cached: a miss, then a hit with the origin's body", async () => {
  const a = await viaWorker("/api/courses/");
  expect(a.status).toBe(200);
  expect(a.cs.params.fwd).toBe("miss");
  expect(a.body).toMatchObject({ page: 1, page_size: 5 });
  const b = await untilHit(() => viaWorker("/api/courses/?page=1&utm_source=newsletter"));
  expect(b.cs.params.hit).toBe(true);
  expect(b.body).toEqual(a.body);
  const clamped = await viaWorker("/api/courses/?perpage=500");
  expect(clamped.body.page_size).toBe(10);
  expect(clamped.body.results.length).toBe(10);
});

test("a course edited through Django is fresh on every page, filter and detail", async () => {
  const variants = ["/api/courses/", "/api/courses/?page=2", "/api/courses/?perpage=10", "/api/courses/?level=beginner", "/api/courses/?search=a", "/api/courses/1/"];
  for (const v of variants) {
    await viaWorker(v);
    expect((await untilHit(() => viaWorker(v))).hit, v).toBe(true);
  }
  const title = `Edited at ${Date.now()}`;
  const edit = await fetch(`${originUrl}/api/courses/1/`, {
    method: "PATCH",
    headers: { authorization: `Token ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ title, level: "beginner" }),
  });
  expect(edit.status).toBe(200);
  // EDGECACHE_PURGE_SYNC: the purge was delivered before the write returned.
  const detail = await viaWorker("/api/courses/1/");
  expect(detail.cs.params.fwd).toBe("miss");
  expect(detail.body.title).toBe(title);
  for (const v of variants.slice(0, -1)) {
    const r = await viaWorker(v);
    expect(r.cs.params.fwd, v).toBe("miss");
    const hit = r.body.results.find((c) => c.id === 1);
    if (hit) expect(hit.title, v).toBe(title);
  }
  // Every page of the list, read through the worker, shows the edit somewhere.
  const all = [];
  for (let page = 1; ; page++) {
    const r = await viaWorker(`/api/courses/?page=${page}`);
    all.push(...r.body.results);
    if (!r.body.next) break;
  }
  expect(all.find((c) => c.id === 1).title).toBe(title);
});

test("a write sent through the worker passes through and invalidates too", async () => {
  await viaWorker("/api/courses/2/");
  expect((await untilHit(() => viaWorker("/api/courses/2/"))).hit).toBe(true);
  const title = `Through the edge ${Date.now()}`;
  const r = await fetch(`${worker.url}/api/courses/2/`, {
    method: "PATCH",
    headers: { authorization: `Token ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ title }),
  });
  expect(r.status).toBe(200);
  expect(cacheStatus(r).params.fwd).toBe("method");
  // Relayed as Django sent it (compressed for this client): one coding, not two.
  expect((await r.json()).title).toBe(title);
  const after = await viaWorker("/api/courses/2/");
  expect(after.body.title).toBe(title);
});

test("/api/courses/03/ is course 3 as Django reads it: one entry, one tag (:pk(int))", async () => {
  await viaWorker("/api/courses/3/");
  expect((await untilHit(() => viaWorker("/api/courses/3/"))).hit).toBe(true);
  const zeros = await viaWorker("/api/courses/03/");
  expect(zeros.hit).toBe(true);
  expect(zeros.body.id).toBe(3);
});

test("links in a cached body point at the worker, not at the origin", async () => {
  const r = await viaWorker("/api/courses/");
  expect(r.body.next).toBeTruthy();
  expect(r.body.next.startsWith(`${worker.url}/api/courses/`), r.body.next).toBe(true);
  expect(r.body.next).not.toContain(new URL(originUrl).host);
  // The stored copy says the same to the next reader.
  const again = await untilHit(() => viaWorker("/api/courses/"));
  expect(again.body.next).toBe(r.body.next);
});

test("per-user data: /api/me/ is keyed per token, never shared", async () => {
  const me = async (token) => {
    const r = await fetch(`${worker.url}/api/me/`, { headers: token ? { authorization: `Token ${token}`, accept: "application/json" } : {} });
    const cs = cacheStatus(r);
    return { status: r.status, cs, hit: cs?.params.hit === true, body: await r.json() };
  };
  const alice = await me("a11ce".repeat(8));
  const bob = await me("b0b0".repeat(10));
  expect(alice.body.username).toBe("alice");
  expect(bob.body.username).toBe("bob");
  const alice2 = await untilHit(() => me("a11ce".repeat(8)));
  expect(alice2.cs.params.hit, alice.cs.raw).toBe(true);
  expect(alice2.body.username).toBe("alice");
  const anon = await me(null);
  expect(anon.status).toBe(401);
});

test("20 courses edited in one transaction: ONE webhook, and every page, filter and detail is fresh", async () => {
  const lists = [
    ...[1, 2, 3, 4, 5].map((p) => `/api/courses/?page=${p}`),
    "/api/courses/?perpage=10", "/api/courses/?perpage=10&page=2", "/api/courses/?perpage=10&page=3",
    "/api/courses/?level=beginner", "/api/courses/?level=intermediate", "/api/courses/?level=advanced",
    "/api/courses/?search=a", "/api/courses/?search=design",
  ];
  const details = Array.from({ length: 23 }, (_, i) => `/api/courses/${i + 1}/`);
  for (const v of [...lists, ...details]) {
    await viaWorker(v);
    expect((await untilHit(() => viaWorker(v))).hit, v).toBe(true);
  }
  const before = relay.requests.length;
  const suffix = ` [batch ${Date.now()}]`;
  // One transaction.atomic() with 20 save() calls (ASYNC "sync": delivered when it returns).
  const out = await django.manage(["retitle_courses", "--count", "20", "--suffix", suffix]);
  expect(out).toContain("retitled 20 courses");
  const sent = relay.requests.slice(before);
  expect(sent.length).toBe(1);
  const body = JSON.parse(sent[0].body.toString());
  expect(body).toEqual({ tags: ["course_list", ...Array.from({ length: 20 }, (_, i) => `course:${i + 1}`)] });
  expect(sent[0].answer.status).toBe(200);
  expect(JSON.parse(sent[0].answer.body).invalidated.tags).toHaveLength(21);

  // Through the worker, every list variant and the 20 details are refetched and are
  // what the origin answers now; the three courses left alone are still cached.
  for (const v of lists) {
    const r = await viaWorker(v);
    expect(r.cs.params.fwd, v).toBe("miss");
    const direct = await (await fetch(`${originUrl}${v}`, { headers: { accept: "application/json" } })).json();
    // next/previous links name the host each was asked on (X-Forwarded-Host): compare the rest.
    const { next, previous, ...rest } = direct;
    expect(r.body, v).toMatchObject(rest);
    for (const c of r.body.results) expect(c.title.endsWith(suffix), `${v} #${c.id}`).toBe(c.id <= 20);
  }
  for (const [i, v] of details.entries()) {
    const r = await viaWorker(v);
    if (i < 20) {
      expect(r.cs.params.fwd, v).toBe("miss");
      expect(r.body.title.endsWith(suffix), v).toBe(true);
    } else {
      expect(r.hit, v).toBe(true);
    }
  }
});

/** An edge in front of Django as production has one: every request asks for
 * `gzip, br` (what Cloudflare's edge asks any origin for), the answer is
 * relayed byte for byte. Records what it forwarded and what came back. */
async function startCompressingEdge(target) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const rec = { url: req.url };
    requests.push(rec);
    const headers = { ...req.headers, host: new URL(target).host, "accept-encoding": "gzip, br" };
    const up = http.request(`${target}${req.url}`, { method: req.method, headers }, (answer) => {
      rec.encoding = answer.headers["content-encoding"];
      rec.length = answer.headers["content-length"];
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((r) => (server.closeAllConnections?.(), server.close(r))),
  };
}

test("GZipMiddleware's answers are stored and served as Django compressed them", async () => {
  const edge = await startCompressingEdge(originUrl);
  const w = await startWorker({ ...checkedVar("wrangler.toml"), origin: edge.url }, { listen: true });
  try {
    const p = "/api/courses/?page=3";
    const read = () =>
      new Promise((resolve, reject) => {
        http
          .get(`${w.url}${p}`, { headers: { accept: "application/json", "accept-encoding": "gzip" } }, (res) => {
            const chunks = [];
            res.on("data", (d) => chunks.push(d));
            res.on("end", () => {
              const cs = cacheStatus({ headers: { get: (n) => res.headers[n] ?? null } });
              resolve({ res, cs, hit: cs?.params.hit === true, bytes: Buffer.concat(chunks) });
            });
          })
          .on("error", reject);
      });
    const first = await read();
    expect(first.res.statusCode).toBe(200);
    expect(edge.requests[0].encoding).toBe("gzip");
    const hit = await untilHit(read);
    expect(hit.hit, hit.cs.raw).toBe(true);
    for (let i = 0; i < 10; i++) expect((await read()).hit).toBe(true);
    // One request reached Django; the hits are its gzip bytes, length and all.
    expect(edge.requests.filter((r) => r.url === p)).toHaveLength(1);
    expect(hit.res.headers["content-encoding"]).toBe("gzip");
    expect(hit.res.headers["content-length"]).toBe(String(hit.bytes.length));
    expect(JSON.parse(zlib.gunzipSync(hit.bytes).toString())).toMatchObject({ page: 3 });
  } finally {
    await w.dispose();
    await edge.close();
  }
});
