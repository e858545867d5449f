// End to end: bucket origins (docs/media.md). A private bucket on a real
// S3-compatible server (moto, authentication on: only a correctly signed
// request of the bucket's key reads it), Miniflare's local R2 through a
// binding, and fake buckets on loopback for the answers moto does not give
// (a 403 for a missing key, a clock outside SigV4's window).
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { cacheStatus, checkedVar, DJANGO_DIR, sleep, startOrigin, startWorker, tempDir } from "./harness.mjs";
import { demoBucketConfig, pattern, startMoto } from "./s3.mjs";

const BIG = 64 * 1024 * 1024;
const PNG = "\x89PNG course image";
const OBJECTS = [
  { key: "uploads/courses/1.png", content_type: "image/png", text: PNG },
  { key: "uploads/courses/2.png", content_type: "image/png", text: PNG + " two" },
  { key: "uploads/a b+c~é/日本.png", content_type: "image/png", text: "unicode key" },
  { key: "uploads/reval.png", content_type: "image/png", text: "revalidated" },
  { key: "uploads/fake.png", content_type: "text/html", text: "<script>alert(1)</script>" },
  { key: "uploads/video.mp4", content_type: "video/mp4", pattern_bytes: BIG },
];

const s3Route = (extra = {}) => ({
  name: "media",
  path: "/media/*",
  kind: "media",
  ttl: "1h",
  origin: "media",
  serve_private: true,
  query: { allow: [] },
  ...extra,
});

const s3Config = (url, routeExtra, top = {}) => ({
  origin: "http://127.0.0.1:9",
  ...top,
  origins: {
    media: { kind: "s3", endpoint: url, region: "us-east-1", bucket: "media", prefix: "uploads/", style: "path", private: true },
  },
  routes: [s3Route(routeExtra)],
});

const keyBindings = (c) => ({
  EDGECACHE_S3_MEDIA_ACCESS_KEY_ID: c.access_key_id,
  EDGECACHE_S3_MEDIA_SECRET_ACCESS_KEY: c.secret_access_key,
});

const BASE = "https://cdn.example.com";

let moto, worker, cacheDir;
beforeAll(async () => {
  moto = await startMoto({ bucket: "media", objects: OBJECTS });
  cacheDir = tempDir("edgecache-buckets-");
  worker = await startWorker(s3Config(moto.url), {
    bindings: keyBindings(moto.credentials),
    cachePersist: cacheDir.dir,
  });
}, 60_000);
afterAll(async () => {
  await worker?.dispose();
  moto?.close();
  cacheDir?.remove();
});

const get = (w, p, headers = {}, method = "GET") => w.fetch(BASE + p, { headers, method });

/** Repeats `request()` until it is answered from the cache (the copy is written after the miss's response). */
async function untilHit(request, tries = 100) {
  for (let i = 0; ; i++) {
    const r = await request();
    if (cacheStatus(r).params.hit || i >= tries) return r;
    await r.arrayBuffer();
    await sleep(50);
  }
}

describe("a private S3 bucket (moto, signatures checked)", () => {
  test("is read with a signed request, stored, and served from the cache", async () => {
    const miss = await get(worker, "/media/courses/1.png");
    expect(miss.status).toBe(200);
    expect(await miss.text()).toBe(PNG);
    expect(miss.headers.get("content-type")).toBe("image/png");
    expect(cacheStatus(miss).params.fwd).toBe("miss");
    const hit = await untilHit(() => get(worker, "/media/courses/1.png"));
    expect(await hit.text()).toBe(PNG);
  });

  test("no x-amz-* header of the bucket reaches the client", async () => {
    const r = await get(worker, "/media/courses/2.png");
    expect(r.status).toBe(200);
    await r.text();
    const names = [...r.headers.keys()];
    expect(names.filter((n) => n.startsWith("x-amz-"))).toEqual([]);
    expect(r.headers.get("etag")).toMatch(/^"/);
  });

  test("a key with a space, +, ~ and UTF-8 is read as that key", async () => {
    const r = await get(worker, "/media/a%20b+c~%C3%A9/%E6%97%A5%E6%9C%AC.png");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("unicode key");
  });

  test("a missing key is a 404 with the cause in Cache-Status, and it is not stored", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get(worker, "/media/courses/missing.png");
      expect(r.status).toBe(404);
      const cs = cacheStatus(r);
      expect(cs.params.detail).toBe("bucket_not_found");
      expect(cs.params.hit).toBeUndefined();
      const body = await r.text();
      expect(body).not.toMatch(/<Error>|NoSuchKey/);
    }
  });

  test("only GET and HEAD reach a bucket: other methods are 405", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await get(worker, "/media/courses/1.png", {}, method);
      expect(r.status, method).toBe(405);
      expect(r.headers.get("allow")).toBe("GET, HEAD");
      await r.text();
    }
    const head = await get(worker, "/media/courses/1.png", {}, "HEAD");
    expect(head.status).toBe(200);
  });

  test("a path that decodes to a dot segment never reaches the bucket", async () => {
    const r = await get(worker, "/media/courses/..%2F..%2Fsecret.png");
    expect(r.status).toBe(404);
    await r.text();
  });

  test("the media type check still applies: an object whose type is not its extension's is never stored", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get(worker, "/media/fake.png");
      const cs = cacheStatus(r);
      expect(cs.params.hit).toBeUndefined();
      expect(cs.params.stored).toBeUndefined();
      expect(cs.params.detail).toBe("media_type_mismatch");
      await r.text();
    }
  });

  test("a stale entry is revalidated by the bucket: a 304 refreshes it", async () => {
    // Memory tier off: the revalidation is the Cache API entry's (as in revalidate.test.mjs).
    const w = await startWorker(s3Config(moto.url, { ttl: "2s", ttl_mode: "override" }, { memory: { max_bytes: 0 } }), {
      bindings: keyBindings(moto.credentials),
    });
    try {
      const first = await get(w, "/media/reval.png");
      expect(await first.text()).toBe("revalidated");
      await untilHit(() => get(w, "/media/reval.png"));
      // Past its TTL; an entry with a validator is kept twice its TTL.
      await sleep(2200);
      const again = await get(w, "/media/reval.png");
      expect(await again.text()).toBe("revalidated");
      expect(cacheStatus(again).params["fwd-status"]).toBe("304");
    } finally {
      await w.dispose();
    }
  });

  test("a wrong secret is a 502 naming the cause in the log, never the secret", async () => {
    const logs = [];
    const wrong = { ...moto.credentials, secret_access_key: "wrong-secret-value-0123456789" };
    const w = await startWorker(s3Config(moto.url), { bindings: keyBindings(wrong), logs });
    try {
      const r = await get(w, "/media/courses/1.png");
      expect(r.status).toBe(502);
      expect(cacheStatus(r).params.detail).toBe("bucket_signature");
      expect(await r.text()).not.toMatch(/<Error>|Signature/);
      await new Promise((res) => setTimeout(res, 100));
      const text = logs.join("\n");
      expect(text).toMatch(/secret access key is wrong/);
      expect(text).not.toContain("wrong-secret-value");
      expect(text).not.toContain(moto.credentials.secret_access_key);
    } finally {
      await w.dispose();
    }
  });

  test("an unknown access key id is a 502 bucket_access_key", async () => {
    const unknown = { ...moto.credentials, access_key_id: "AKIAUNKNOWN000000000" };
    const w = await startWorker(s3Config(moto.url), { bindings: keyBindings(unknown), quiet: true });
    try {
      const r = await get(w, "/media/courses/1.png");
      expect(r.status).toBe(502);
      expect(cacheStatus(r).params.detail).toBe("bucket_access_key");
      await r.text();
    } finally {
      await w.dispose();
    }
  });

  test("without its secrets a private bucket route answers 502, not an unsigned request", async () => {
    const w = await startWorker(s3Config(moto.url), { quiet: true });
    try {
      const r = await get(w, "/media/courses/1.png");
      expect(r.status).toBe(502);
      expect(cacheStatus(r).params.detail).toBe("bucket_no_credentials");
      await r.text();
    } finally {
      await w.dispose();
    }
  });
});

/** Resident memory (kB) of the workerd processes this test file started. */
function workerdRssKb() {
  const out = execFileSync("ps", ["-eo", "ppid=,rss=,comm="], { encoding: "utf8" });
  let kb = 0;
  for (const line of out.trim().split("\n")) {
    const [ppid, rss, comm] = line.trim().split(/\s+/);
    if (Number(ppid) === process.pid && comm.startsWith("workerd")) kb += Number(rss);
  }
  return kb;
}

test("a 64 MB video is fetched from the bucket once, then served in ranges from the cache", async () => {
  const before = workerdRssKb();
  const miss = await get(worker, "/media/video.mp4", { range: "bytes=0-99" });
  expect(miss.status).toBe(206);
  expect(Buffer.from(await miss.arrayBuffer())).toEqual(pattern(100));
  const ranges = [
    [BIG - 100, BIG - 1],
    [20 * 1024 * 1024, 20 * 1024 * 1024 + 4095],
    [12345, 67890],
  ];
  const first = await untilHit(() => get(worker, "/media/video.mp4", { range: "bytes=1-1" }));
  await first.arrayBuffer();
  const stored = workerdRssKb();
  const rounds = [];
  for (let round = 0; round < 4; round++) {
    for (const [a, b] of ranges) {
      const r = await get(worker, "/media/video.mp4", { range: `bytes=${a}-${b}` });
      expect(r.status).toBe(206);
      expect(cacheStatus(r).params.hit).toBe(true);
      expect(r.headers.get("content-range")).toBe(`bytes ${a}-${b}/${BIG}`);
      expect(Buffer.from(await r.arrayBuffer())).toEqual(pattern(b - a + 1, a));
    }
    rounds.push(workerdRssKb());
  }
  const grown = workerdRssKb() - before;
  if (process.env.EDGECACHE_DEBUG) console.log(`workerd RSS (kB): before ${before}, stored ${stored}, after each round of ranges ${rounds}`);
  // The object is 64 MB: the miss streams it through (the worker never holds
  // it whole), and once the allocator has warmed up, ranged hits cut from the
  // stored copy leave memory flat, round after round.
  expect(grown).toBeLessThan(BIG / 1024);
  expect(Math.max(...rounds.slice(1)) - rounds[1]).toBeLessThan(4 * 1024);
}, 60_000);

describe("answers moto does not give (a fake bucket on loopback)", () => {
  const xml = (code) => `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>m</Message><RequestId>r</RequestId></Error>`;
  let fake, w;
  beforeAll(async () => {
    fake = await startOrigin(async (req) => {
      if (req.url.includes("big.mp4")) {
        await sleep(300);
        const body = pattern(1024 * 1024);
        return { status: 200, headers: { "content-type": "video/mp4", "content-length": String(body.length), etag: '"big"' }, body };
      }
      const code = req.url.includes("skew") ? "RequestTimeTooSkewed" : req.url.includes("denied") ? "AccessDenied" : "SlowDown";
      const status = code === "SlowDown" ? 503 : 403;
      return { status, headers: { "content-type": "application/xml", "x-amz-request-id": "r" }, body: xml(code) };
    });
    w = await startWorker(s3Config(fake.url), {
      bindings: keyBindings({ access_key_id: "AKID", secret_access_key: "s" }),
      quiet: true,
    });
  });
  afterAll(async () => {
    await w?.dispose();
    await fake?.close();
  });

  test("a 403 AccessDenied (a missing key in a bucket the key cannot list) is the client's 404", async () => {
    const r = await get(w, "/media/denied.png");
    expect(r.status).toBe(404);
    expect(cacheStatus(r).params.detail).toBe("bucket_not_found");
    expect(await r.text()).not.toContain("AccessDenied");
  });

  test("a clock outside SigV4's window is a 502 bucket_clock_skew", async () => {
    const r = await get(w, "/media/skew.png");
    expect(r.status).toBe(502);
    expect(cacheStatus(r).params.detail).toBe("bucket_clock_skew");
    expect(await r.text()).not.toContain("<Error>");
  });

  test("concurrent misses of one object share one bucket request", async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const r = await get(w, "/media/big.mp4");
        return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
      }),
    );
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(r.body.equals(pattern(1024 * 1024))).toBe(true);
    }
    expect(fake.hits("/media/uploads/big.mp4")).toBe(1);
  });

  test("a bucket 503 is a clean 502 and never stored", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get(w, "/media/slow.png");
      expect(r.status).toBe(502);
      expect(cacheStatus(r).params.detail).toBe("bucket_error");
      expect(r.headers.get("x-amz-request-id")).toBeNull();
      await r.text();
    }
    expect(fake.hits("/media/uploads/slow.png")).toBe(2);
  });
});

describe("an R2 binding (Miniflare's local R2)", () => {
  let r2w, bucket;
  beforeAll(async () => {
    r2w = await startWorker(
      {
        origin: "http://127.0.0.1:9",
        memory: { max_bytes: 0 },
        origins: { files: { kind: "r2", binding: "MEDIA_BUCKET", prefix: "media/" } },
        routes: [
          { name: "files", path: "/files/*", kind: "media", ttl: "2s", ttl_mode: "override", origin: "files", serve_private: true },
        ],
      },
      { r2Buckets: ["MEDIA_BUCKET"] },
    );
    bucket = await r2w.mf.getR2Bucket("MEDIA_BUCKET");
    await bucket.put("media/course.png", new TextEncoder().encode(PNG), { httpMetadata: { contentType: "image/png", cacheControl: "public, max-age=60" } });
    await bucket.put("media/clip.mp4", new Uint8Array(pattern(100_000)), { httpMetadata: { contentType: "video/mp4" } });
  });
  afterAll(async () => {
    await r2w?.dispose();
  });

  test("an object is read through the binding with its httpMetadata as headers", async () => {
    const r = await get(r2w, "/files/course.png");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(r.headers.get("etag")).toMatch(/^"/);
    expect(await r.text()).toBe(PNG);
  });

  test("a missing object is a 404 bucket_not_found", async () => {
    const r = await get(r2w, "/files/nope.png");
    expect(r.status).toBe(404);
    expect(cacheStatus(r).params.detail).toBe("bucket_not_found");
    await r.text();
  });

  test("ranges are served from the cache", async () => {
    const first = await get(r2w, "/files/clip.mp4", { range: "bytes=10-19" });
    expect(first.status).toBe(206);
    expect(Buffer.from(await first.arrayBuffer())).toEqual(pattern(10, 10));
    const hit = await untilHit(() => get(r2w, "/files/clip.mp4", { range: "bytes=99990-" }));
    expect(hit.status).toBe(206);
    expect(Buffer.from(await hit.arrayBuffer())).toEqual(pattern(10, 99990));
  });

  test("a stale entry is revalidated with onlyIf: R2's not-modified answer refreshes it", async () => {
    const first = await get(r2w, "/files/course.png");
    await first.text();
    await sleep(2200);
    const again = await get(r2w, "/files/course.png");
    expect(await again.text()).toBe(PNG);
    expect(cacheStatus(again).params["fwd-status"]).toBe("304");
  });

  test("only GET and HEAD reach the binding", async () => {
    const r = await get(r2w, "/files/course.png", {}, "DELETE");
    expect(r.status).toBe(405);
    await r.text();
    expect(await bucket.head("media/course.png")).not.toBeNull();
  });
});

test("make dev: the course images come from the demo's private bucket through the worker", async () => {
  const demo = await startMoto({ demo: true });
  const config = demoBucketConfig(checkedVar("wrangler.toml", "dev"), demo.url);
  const w = await startWorker(config, { bindings: keyBindings(demo.credentials), quiet: true });
  try {
    for (const [name, type] of [["python.png", "image/png"], ["sunset.jpg", "image/jpeg"]]) {
      const r = await get(w, `/media/courses/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.headers.get("content-type")).toBe(type);
      expect(cacheStatus(r).params.fwd).toBe("miss");
      expect(Buffer.from(await r.arrayBuffer())).toEqual(readFileSync(`${DJANGO_DIR}/media/courses/${name}`));
    }
    const hit = await untilHit(() => get(w, "/media/courses/python.png"));
    expect(cacheStatus(hit).params.hit).toBe(true);
  } finally {
    await w.dispose();
    demo.close();
  }
}, 60_000);
