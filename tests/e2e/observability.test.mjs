// End to end: Server-Timing on responses, one JSON log line per request and
// per purge from the built worker, `edgecache report` on the captured lines
// printing exact counts, sampling (errors always logged), and the Analytics
// Engine data points through a stand-in binding (Miniflare's own dataset
// simulator drops every point, so it cannot be observed).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cacheStatus, COMPAT_DATE, purge, SECRETS, sleep, startRoutedOrigin, startWorker, tempDir } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BASE = "https://api.example.com";
const ROUTES = [
  { name: "items", path: "/items/*", ttl: "60s", tags: ["items"] },
  { name: "swr", path: "/swr/*", ttl: "1s", stale_while_revalidate: "30s" },
];

let origin;
const dirs = [];
beforeAll(async () => {
  origin = await startRoutedOrigin();
  origin.on("/boom", () => ({ status: 500, headers: { "content-type": "text/plain" }, body: "boom" }));
});
afterAll(async () => {
  await origin?.close();
  dirs.forEach((d) => d.remove());
});

const keyHash = (key) => createHash("sha256").update(key).digest("hex").slice(0, 16);
/** The worker's request and purge lines among the captured output. */
const ours = (logs) =>
  logs
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .filter((l) => l.edgecache === "request" || l.edgecache === "purge");

function report(args, input) {
  const out = execFileSync("cargo", ["run", "--quiet", "--bin", "edgecache", "--", "report", ...args], {
    cwd: ROOT,
    input,
  });
  return out.toString();
}

/** Waits for the worker's output to hold `n` of our lines (stdout is piped). */
async function lines(logs, n) {
  for (let i = 0; i < 100 && ours(logs).length < n; i++) await sleep(20);
  return ours(logs);
}

test("known traffic gives one line per request and purge, and the report's exact counts", async () => {
  const logs = [];
  const worker = await startWorker({ origin: origin.url, debug: true, routes: ROUTES }, { logs });
  try {
    const seen = [];
    const get = async (p, headers = {}) => {
      const r = await worker.fetch(BASE + p, { headers });
      r.bodyText = await r.text();
      seen.push(r);
      return r;
    };
    const miss1 = await get("/items/1");
    expect(cacheStatus(miss1).params.fwd).toBe("miss");
    await sleep(300); // the copy is written after the response
    for (let i = 0; i < 3; i++) expect(cacheStatus(await get("/items/1")).params.hit).toBe(true);
    await get("/items/2");
    await sleep(300);
    expect(cacheStatus(await get("/items/2")).params.hit).toBe(true);
    const receipt = await purge(worker, { tags: ["items"] });
    expect(receipt.status).toBe(200);
    expect(receipt.headers.get("server-timing")).toMatch(/^edge;dur=\d+$/);
    const purged = await get("/items/1");
    expect(cacheStatus(purged).params.detail).toBe("purged");
    await get("/swr/a");
    await sleep(1100);
    expect(cacheStatus(await get("/swr/a")).params.detail).toBe("stale_while_revalidate");
    const bypass = await get("/items/3", { authorization: "Bearer someone" });
    expect(cacheStatus(bypass).params.fwd).toBe("bypass");
    await get("/other");
    expect((await get("/boom")).status).toBe(500);

    // Server-Timing: the edge's time always, the origin's when it was asked.
    expect(miss1.headers.get("server-timing")).toMatch(/^edge;dur=\d+, origin;dur=\d+$/);
    expect(seen[1].headers.get("server-timing")).toMatch(/^edge;dur=\d+$/);

    const all = await lines(logs, seen.length + 1);
    const reqs = all.filter((l) => l.edgecache === "request");
    expect(reqs.length).toBe(seen.length);
    expect(all.filter((l) => l.edgecache === "purge").length).toBe(1);
    // The miss's line: route, outcome, tier, key hash (never the key), origin.
    const key1 = cacheStatus(miss1).params.key;
    expect(reqs[0]).toMatchObject({
      v: 1, route: "items", method: "GET", status: 200, outcome: "miss", tier: "origin",
      key: keyHash(key1), origin_status: 200,
    });
    // A streamed (chunked) answer has no length; a stored one has.
    const cl = miss1.headers.get("content-length");
    expect(reqs[0].bytes).toBe(cl === null ? null : Number(cl));
    expect(reqs[1]).toMatchObject({ outcome: "hit", origin_ms: null, bytes: seen[1].bodyText.length });
    expect(typeof reqs[0].origin_ms).toBe("number");
    expect(JSON.stringify(all)).not.toContain(key1);
    const memoryHits = seen.filter((r) => cacheStatus(r).params.detail === "memory").length;

    const dir = tempDir("edgecache-report-");
    dirs.push(dir);
    const file = path.join(dir.dir, "edgecache.log");
    writeFileSync(file, logs.join("\n") + "\n");
    const json = JSON.parse(report(["--json", file]));
    const items = json.routes.find((r) => r.route === "items");
    expect(items).toMatchObject({ requests: 8, misses: 3, stale: 0, bypass: 1, pass: 0 });
    expect(items.hits_memory + items.hits_cache).toBe(4);
    expect(items.hits_memory).toBe(memoryHits);
    expect(items.origin_requests).toBe(4);
    const k1 = keyHash(key1);
    expect(items.top_missed.filter((m) => m.key === k1).map((m) => m.reason).sort()).toEqual(["no_entry", "purged"]);
    expect(json.routes.find((r) => r.route === "swr")).toMatchObject({ requests: 2, misses: 1, stale: 1 });
    expect(json.routes.find((r) => r.route === "-")).toMatchObject({ requests: 2, pass: 2, errors: 1 });
    expect(json.all.requests).toBe(12);
    expect(json.purges.map((p) => p.tags)).toEqual([["items"]]);

    const text = report([file]);
    expect(text).toMatch(/^edgecache report: 12 requests, 1 purges/);
    expect(text).toMatch(/\nitems +8 +\d\/\d +3 +0 +1 +0 +0 +57\.1% /);

    // The same lines as `wrangler tail --format json` shows them, on stdin.
    const tail = logs
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.stringify({ outcome: "ok", logs: [{ message: [l], level: "log" }] }, null, 2))
      .join("\n");
    expect(JSON.parse(report(["--json", "-"], tail)).all).toEqual(json.all);
  } finally {
    await worker.dispose();
  }
}, 90_000); // three CLI runs (cargo run) besides the traffic

test("log_sample 0 logs only errors, and server_timing false sends no Server-Timing", async () => {
  const logs = [];
  const worker = await startWorker(
    { origin: origin.url, routes: ROUTES, observability: { log_sample: 0, server_timing: false } },
    { logs },
  );
  try {
    const ok = await worker.fetch(`${BASE}/items/9`);
    await ok.text();
    expect(ok.headers.get("server-timing")).toBeNull();
    const err = await worker.fetch(`${BASE}/boom`);
    await err.text();
    const got = await lines(logs, 1);
    await sleep(100);
    expect(ours(logs).map((l) => [l.status, l.outcome])).toEqual([[500, "pass"]]);
    expect(got.length).toBe(1);
  } finally {
    await worker.dispose();
  }
});

// A stand-in dataset (a wrapped binding) that prints each data point.
const STANDIN = `export default function () {
  return { writeDataPoint(p) { console.log("AE " + JSON.stringify(p)); } };
}`;

test("with the Analytics Engine binding each request writes one data point; without it none", async () => {
  const logs = [];
  const mf = new Miniflare({
    workers: [
      {
        name: "edgecache",
        scriptPath: path.join(ROOT, "build/index.js"),
        modules: true,
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        compatibilityDate: COMPAT_DATE,
        bindings: { EDGECACHE: { origin: origin.url, routes: ROUTES, observability: { log_sample: 0 } }, ...SECRETS },
        kvNamespaces: ["EDGECACHE_KV"],
        wrappedBindings: { EDGECACHE_ANALYTICS: { scriptName: "standin" } },
      },
      { name: "standin", modules: true, script: STANDIN },
    ],
    handleRuntimeStdio: (out, err) => {
      out.setEncoding("utf8");
      out.on("data", (c) => logs.push(...c.split("\n")));
      err.resume();
    },
  });
  try {
    await mf.ready;
    const r = await mf.dispatchFetch(`${BASE}/items/ae`);
    await r.text();
    expect((await purge({ fetch: (u, i) => mf.dispatchFetch(u, i) }, { tags: ["items"] })).status).toBe(200);
    let points = [];
    for (let i = 0; i < 100 && points.length < 2; i++) {
      await sleep(20);
      points = logs.filter((l) => l.startsWith("AE ")).map((l) => JSON.parse(l.slice(3)));
    }
    expect(points.length).toBe(2);
    expect(points[0].indexes).toEqual(["items"]);
    expect(points[0].blobs.slice(0, 4)).toEqual(["items", "miss", "origin", "GET"]);
    expect(points[0].doubles[0]).toBe(200);
    expect(points[0].doubles[1]).toBe(200);
    expect(points[1].blobs[1]).toBe("purge");
    // log_sample 0: the request gets no log line, but its data point.
    expect(ours(logs).filter((l) => l.edgecache === "request")).toEqual([]);
  } finally {
    await mf.dispose();
  }
  // Without the binding, the same traffic writes nothing anywhere.
  const plain = [];
  const worker = await startWorker({ origin: origin.url, routes: ROUTES }, { logs: plain });
  try {
    await (await worker.fetch(`${BASE}/items/ae2`)).text();
    await lines(plain, 1);
    expect(plain.some((l) => l.startsWith("AE "))).toBe(false);
  } finally {
    await worker.dispose();
  }
});

test("Miniflare's own Analytics Engine binding (a local simulator that drops points) serves as usual", async () => {
  const logs = [];
  const mf = new Miniflare({
    scriptPath: path.join(ROOT, "build/index.js"),
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: COMPAT_DATE,
    bindings: { EDGECACHE: { origin: origin.url, routes: ROUTES }, ...SECRETS },
    kvNamespaces: ["EDGECACHE_KV"],
    analyticsEngineDatasets: { EDGECACHE_ANALYTICS: { dataset: "edgecache" } },
    handleRuntimeStdio: (out, err) => {
      out.setEncoding("utf8");
      out.on("data", (c) => logs.push(...c.split("\n")));
      err.resume();
    },
  });
  try {
    await mf.ready;
    for (let i = 0; i < 2; i++) {
      const r = await mf.dispatchFetch(`${BASE}/items/sim`);
      expect(r.status).toBe(200);
      await r.text();
    }
    const got = await lines(logs, 2);
    expect(got.map((l) => l.outcome)).toEqual(["miss", expect.stringMatching(/^(hit|miss)$/)]);
    expect(logs.join("\n")).not.toMatch(/worker_error|Uncaught/);
  } finally {
    await mf.dispose();
  }
});
