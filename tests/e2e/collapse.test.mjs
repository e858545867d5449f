// End to end: protecting the origin. Concurrent misses for one key make one
// origin request (request collapsing, flow::collapse), unstorable answers do
// not make requests queue (hit-for-pass), a failing leader does not fail its
// followers, and a burst of reads right after a purge costs about one origin
// request per key (purge marks, purge::generations rule 2).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { cacheStatus, purge, sleep, startRoutedOrigin, startWorker, untilHit } from "./harness.mjs";

let origin, worker;
let version = 1;
// Requests the origin is answering right now, and the most at once.
let inFlight = 0;
let maxInFlight = 0;

const config = () => ({
  origin: origin.url,
  // The shipped defaults for the purge settings: a memo and a 2 s clock skew.
  routes: [
    { name: "list", path: "/api/courses/", ttl: "15m", tags: ["course_list"] },
    { name: "slow", path: "/slow/*", ttl: "15m", timeout: "2s" },
    { name: "sie", path: "/sie/*", ttl: "1s", stale_if_error: "1h", timeout: "2s" },
    { name: "api", path: "/api/*", ttl: "15m" },
    { name: "media", path: "/media/*", kind: "media", ttl: "1h" },
  ],
});

beforeAll(async () => {
  origin = await startRoutedOrigin();
  worker = await startWorker(config(), { quiet: true });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});
beforeEach(() => {
  origin.requests.length = 0;
  inFlight = 0;
  maxInFlight = 0;
});

const BASE = "https://api.example.com";
const get = async (path, headers = {}) => {
  const r = await worker.fetch(BASE + path, { headers });
  const status = cacheStatus(r);
  const body = Buffer.from(await r.arrayBuffer());
  return { code: r.status, status, hit: status?.params.hit === true, body };
};
const burst = (n, path, headers) => Promise.all(Array.from({ length: n }, () => get(path, headers)));
/** An origin answer held `ms` before it is sent, counted while in flight. */
const held = (ms, answer) => async (req, res, n) => {
  inFlight += 1;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    await sleep(ms);
    return answer(req, res, n);
  } finally {
    inFlight -= 1;
  }
};
const json = (obj, headers = {}) => ({
  status: 200,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(obj),
});

describe("request collapsing", () => {
  test("20 concurrent misses on one key make 1 origin request and all get its body", async () => {
    origin.on("/api/one/", held(300, () => json({ v: "one" })));
    const rs = await burst(20, "/api/one/");
    expect(origin.hits("/api/one/")).toBe(1);
    for (const r of rs) {
      expect(r.code).toBe(200);
      expect(JSON.parse(r.body).v).toBe("one");
    }
    // One leader (the miss), the others answered from what it stored.
    expect(rs.filter((r) => r.status.params.fwd === "miss")).toHaveLength(1);
    expect(rs.filter((r) => r.hit && r.status.params.detail === "collapsed")).toHaveLength(19);
  });

  test("a large media object fetched by 5 concurrent requests is downloaded from the origin once", async () => {
    const big = Buffer.alloc(6 * 1024 * 1024, 7);
    origin.on(
      "/media/big.bin",
      held(300, () => ({ headers: { "content-type": "application/octet-stream", "content-length": String(big.length) }, body: big })),
    );
    const rs = await burst(5, "/media/big.bin");
    expect(origin.hits("/media/big.bin")).toBe(1);
    for (const r of rs) {
      expect(r.code).toBe(200);
      expect(r.body.length).toBe(big.length);
      expect(r.body.equals(big)).toBe(true);
    }
    // And the next request is a hit.
    expect((await get("/media/big.bin")).hit).toBe(true);
    expect(origin.hits("/media/big.bin")).toBe(1);
  });

  test("an unstorable answer sends followers to the origin at once, and the next requests do not queue (hit-for-pass)", async () => {
    let n = 0;
    origin.on(
      "/api/private/",
      held(800, () => json({ n: ++n }, { "cache-control": "private" })),
    );
    const first = await burst(5, "/api/private/");
    // Each got its own answer from the origin: nothing was shared.
    expect(origin.hits("/api/private/")).toBe(5);
    expect(new Set(first.map((r) => JSON.parse(r.body).n)).size).toBe(5);
    for (const r of first) expect(r.hit).toBe(false);
    // The note: the next burst goes to the origin side by side, none waits
    // behind another's answer.
    maxInFlight = 0;
    const second = await burst(5, "/api/private/");
    expect(origin.hits("/api/private/")).toBe(10);
    expect(maxInFlight).toBe(5);
    expect(new Set(second.map((r) => JSON.parse(r.body).n)).size).toBe(5);
  });

  test("when the leader's origin request fails, its followers retry and get the answer", async () => {
    let calls = 0;
    origin.on(
      "/api/flaky/",
      held(300, (req, res) => {
        calls += 1;
        if (calls === 1) {
          res.socket.destroy(); // the first request: no answer at all
          return undefined;
        }
        return json({ v: "after" });
      }),
    );
    const rs = await burst(5, "/api/flaky/");
    const failed = rs.filter((r) => r.code === 502);
    // Only the leader saw the failure; a follower took the lead and the rest followed it.
    expect(failed).toHaveLength(1);
    for (const r of rs.filter((r) => r.code !== 502)) {
      expect(r.code).toBe(200);
      expect(JSON.parse(r.body).v).toBe("after");
    }
    expect(origin.hits("/api/flaky/")).toBe(2);
  });

  test("when the leader's origin request fails inside stale-if-error, every follower gets the stale copy", async () => {
    let fail = false;
    origin.on("/sie/a", held(300, () => (fail ? { status: 503, body: "down" } : json({ v: "old" }))));
    await get("/sie/a");
    expect((await untilHit(() => get("/sie/a"))).hit).toBe(true);
    await sleep(1200); // past the 1 s TTL, inside stale-if-error
    fail = true;
    origin.requests.length = 0;
    const rs = await burst(5, "/sie/a");
    expect(origin.hits("/sie/a")).toBe(1);
    for (const r of rs) {
      expect(r.code).toBe(200);
      expect(JSON.parse(r.body).v).toBe("old");
      expect(r.status.params.fwd).toBe("stale");
    }
  });

  test("a follower waits at most the route's timeout, then fetches itself", async () => {
    // The leader's answer starts at once but its body takes longer than the
    // route's 2 s timeout to arrive, so its store is not done in time.
    let leaderDone = false;
    let calls = 0;
    origin.on("/slow/body", (req, res) => {
      calls += 1;
      if (calls > 1) return json({ v: "quick" });
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"v":"slow","pad":"');
      setTimeout(() => {
        res.end('"}');
        leaderDone = true;
      }, 4000);
      return undefined;
    });
    const leader = get("/slow/body");
    await sleep(200);
    const followers = await burst(3, "/slow/body");
    // Followers gave up waiting and fetched themselves, before the leader's body ended.
    expect(leaderDone).toBe(false);
    for (const r of followers) {
      expect(r.code).toBe(200);
      expect(JSON.parse(r.body).v).toBe("quick");
    }
    expect(calls).toBe(4);
    expect(JSON.parse((await leader).body).v).toBe("slow");
  }, 15000);
});

describe("purge without a stampede", () => {
  test("a burst of reads right after a purge costs one origin request, then hits (inside the clock-skew window)", async () => {
    origin.on("/api/courses/", held(200, () => json({ v: version })));
    await get("/api/courses/");
    expect((await untilHit(() => get("/api/courses/"))).hit).toBe(true);
    version += 1;
    const r = await purge(worker, { tags: ["course_list"] });
    expect(r.status).toBe(200);
    origin.requests.length = 0;
    // 50 concurrent reads at once, then 10 more every 100 ms for 3 s: all of
    // it inside (and just past) the 2 s clock-skew window of the purge.
    const first = await burst(50, "/api/courses/");
    for (const x of first) expect(JSON.parse(x.body).v).toBe(version);
    const later = [];
    for (let i = 0; i < 30; i++) {
      later.push(...(await burst(10, "/api/courses/")));
      await sleep(100);
    }
    expect(origin.hits("/api/courses/")).toBe(1);
    for (const x of later) {
      expect(JSON.parse(x.body).v).toBe(version);
      expect(x.hit, x.status.raw).toBe(true);
    }
  }, 20000);

  test("a purge landing during a fetch still purges what that fetch stores", async () => {
    // The answer is the version current when the request arrived.
    origin.on("/api/courses/", (req) => {
      const v = version;
      return held(600, () => json({ v }))(req);
    });
    await purge(worker, { tags: ["course_list"] });
    origin.requests.length = 0;
    // A read misses (purged) and fetches; the origin answers the old version,
    // and a second purge lands while it does.
    const inflight = get("/api/courses/");
    await sleep(200);
    const before = version;
    version += 1;
    expect((await purge(worker, { tags: ["course_list"] })).status).toBe(200);
    expect(JSON.parse((await inflight).body).v).toBe(before);
    await sleep(200);
    // The stored copy recorded the first purge's mark, not the second's: a miss.
    const next = await get("/api/courses/");
    expect(next.status.params.fwd).toBe("miss");
    expect(JSON.parse(next.body).v).toBe(version);
    expect(origin.hits("/api/courses/")).toBe(2);
  });
});
