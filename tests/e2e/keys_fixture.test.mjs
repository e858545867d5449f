// The key fixture (tests/fixtures/keys.json) run through the built worker: the
// same cases `cargo test --test native request::keys` runs natively, here under
// wasm in workerd, so a difference between the native and the wasm build of the
// key function (a float, a hash, a Unicode table, an allocation path) cannot hide.
//
// GET cases go through `/__edgecache/explain` (key, tags, reason); cases with
// another method go through the request path itself (`debug = true` puts the
// key in `Cache-Status`; a bypass says why in `detail=`).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cacheStatus, checkedVar, SECRETS, startOrigin, startWorker } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CASES = JSON.parse(readFileSync(path.join(ROOT, "tests/fixtures/keys.json"), "utf8"));

let origin, withSecret, withoutSecret;

beforeAll(async () => {
  // The fixture's config as the worker receives it (the same text the native test reads).
  const config = checkedVar("tests/fixtures/wrangler.toml");
  origin = await startOrigin(() => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }));
  const cfg = { ...config, origin: origin.url, debug: true };
  // Per-user cases name the HMAC secret they were computed with; the others run
  // where no secret is configured (so `missing_user_secret` fails closed).
  withSecret = await startWorker(cfg, { quiet: true, bindings: { EDGECACHE_KEY_SECRET: "s3cret" } });
  withoutSecret = await startWorker(cfg, { quiet: true, bindings: { EDGECACHE_KEY_SECRET: "" } });
}, 120_000);

afterAll(async () => {
  await withSecret?.dispose();
  await withoutSecret?.dispose();
  await origin?.close();
});

const workerFor = (c) => (c.user_secret === "s3cret" ? withSecret : withoutSecret);

async function explain(c) {
  const q = new URLSearchParams({ url: c.url });
  for (const [n, v] of c.headers ?? []) q.append("h", `${n}: ${v}`);
  const res = await workerFor(c).fetch(`https://api.example.com/__edgecache/explain?${q}`, {
    headers: { authorization: `Bearer ${SECRETS.EDGECACHE_EXPLAIN_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

test("every fixture case is either explained or sent as a request", () => {
  expect(CASES.length).toBeGreaterThan(60);
  for (const c of CASES) expect(c.key ?? c.reason, c.name).toBeTruthy();
  for (const c of CASES) {
    if (c.user_secret !== undefined) expect(c.user_secret, `${c.name}: a secret no worker here has`).toBe("s3cret");
  }
});

describe("GET cases through /__edgecache/explain", () => {
  for (const c of CASES.filter((c) => !c.method)) {
    test(c.name, async () => {
      const e = await explain(c);
      if (c.key) {
        expect(e.key).toBe(c.key);
        expect(e.cacheable).toBe(true);
      } else {
        expect(e.key).toBeNull();
        expect(e.reason).toBe(c.reason);
      }
      if (c.tags) expect(e.tags).toEqual(c.tags);
    });
  }
});

// Fetch upper-cases these names when they are sent in lower case, so a request
// for `get` cannot be made from here; the native fixture run covers those cases.
const FETCH_NORMALIZES = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
const sendable = (m) => m === m.toUpperCase() || !FETCH_NORMALIZES.includes(m.toUpperCase());

describe("other methods through the request path", () => {
  for (const c of CASES.filter((c) => c.method)) {
    test.skipIf(!sendable(c.method))(c.name, async () => {
      const res = await workerFor(c).fetch(c.url, { method: c.method, headers: c.headers ?? [] });
      await res.arrayBuffer();
      const cs = cacheStatus(res);
      if (c.key) {
        expect(cs.params.key).toBe(c.key);
      } else {
        expect(cs.params.detail).toBe(c.reason);
      }
    });
  }
});
