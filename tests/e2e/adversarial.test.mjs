// Adversarial suite (hardening issue): each test is an attack, and fails if the
// attack works. A reflecting origin echoes everything it was sent into the body,
// so anything unkeyed that reached it would show up in a stored entry.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { cacheStatus, purge, SECRETS, signWebhook, startOrigin, startWorker } from "./harness.mjs";

let origin, worker;
// The origin errors when it sees an attack header (as a real one would on an
// oversized header, a control character or a method override it honours).
const ATTACK_STATUS = { "x-oversized": 431, "x-meta": 400, "x-http-method-override": 405 };
beforeAll(async () => {
  origin = await startOrigin((req) => ({
    status: Object.entries(ATTACK_STATUS).find(([h]) => req.headers[h] !== undefined)?.[1] ?? 200,
    headers: { "content-type": "application/json", "cache-control": "public, max-age=600" },
    body: JSON.stringify({ url: req.url, method: req.method, headers: req.headers, body: req.body.toString() }),
  }));
  worker = await startWorker({
    origin: origin.url,
    purge: { generation_memo: "0s", clock_skew: "0s" },
    routes: [
      { name: "list", path: "/api/courses/", ttl: "15m", query: { allow: ["q", "id", "page"] } },
      { name: "account", path: "/api/account/", ttl: "15m", per_user: true },
      { name: "api", path: "/api/*", ttl: "15m" },
      { name: "media", path: "/media/*", kind: "media", ttl: "1h" },
    ],
  });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.close();
});
beforeEach(() => {
  origin.requests.length = 0;
});

const BASE = "https://api.example.com";
const get = async (path, headers = {}, init = {}) => {
  const r = await worker.fetch(BASE + path, { headers, ...init });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { r, cs: cacheStatus(r), text, json };
};

describe("poisoning", () => {
  const unkeyed = {
    "x-forwarded-host": "evil.example",
    "x-forwarded-scheme": "evil-scheme",
    "x-forwarded-proto": "evil-proto",
    "x-forwarded-port": "8443",
    forwarded: "for=1.2.3.4;host=evil.example;proto=evil-proto",
    "x-host": "evil.example",
    "x-original-url": "/admin/",
    "x-rewrite-url": "/admin/",
  };
  for (const [name, value] of Object.entries(unkeyed)) {
    test(`${name} reflected by the origin never lands in a stored entry`, async () => {
      const path = `/api/poison/${name}/`;
      const attack = await get(path, { [name]: value });
      expect(attack.text).not.toContain(value);
      const victim = await get(path);
      expect(victim.cs.params.hit).toBe(true);
      expect(victim.text).not.toContain(value);
    });
  }

  test("parameter cloaking with ; cannot smuggle a keyed parameter", async () => {
    // Django splits on & only: the origin sees q=a and utm_content="x;q=evil" (dropped as tracking).
    const attack = await get("/api/courses/?q=a&utm_content=x;q=evil");
    expect(attack.json.url).toBe("/api/courses/?q=a");
    const victim = await get("/api/courses/?q=a");
    expect(victim.cs.params.hit).toBe(true);
    expect(victim.text).not.toContain("evil");
  });

  test("duplicate parameters keep their order in the key and in what the origin sees", async () => {
    const a = await get("/api/courses/?id=1&id=2");
    expect(a.json.url).toBe("/api/courses/?id=1&id=2");
    const b = await get("/api/courses/?id=2&id=1");
    expect(b.cs.params.fwd).toBe("miss");
    expect(b.json.url).toBe("/api/courses/?id=2&id=1");
  });

  test("encoded delimiters never collide with real ones", async () => {
    const real = await get("/api/courses/?q=a&page=2");
    const encoded = await get("/api/courses/?q=a%26page%3D2");
    expect(encoded.cs.params.fwd).toBe("miss");
    expect(encoded.json.url).toBe("/api/courses/?q=a%26page%3D2");
    expect(real.json.url).toBe("/api/courses/?page=2&q=a");
    const plus = await get("/api/courses/?q=a%2Bb");
    expect(plus.cs.params.fwd).toBe("miss"); // %2B is a literal plus, not a space
    const space = await get("/api/courses/?q=a+b");
    expect(space.cs.params.fwd).toBe("miss");
    expect((await get("/api/courses/?q=a%20b")).cs.params.hit).toBe(true);
  });

  test("an injected variant parameter cannot select another variant", async () => {
    const a = await get("/api/account/", { authorization: "Token victim" });
    expect(a.json.headers.authorization).toBe("Token victim");
    const explain = await worker.fetch(
      `${BASE}/__edgecache/explain?url=${encodeURIComponent(`${BASE}/api/account/`)}&h=${encodeURIComponent("Authorization: Token victim")}`,
      { headers: { authorization: `Bearer ${SECRETS.EDGECACHE_EXPLAIN_TOKEN}` } },
    );
    const key = (await explain.json()).key;
    const variant = new URL(key).searchParams.get("__edgecache");
    const b = await get(`/api/account/?__edgecache=${encodeURIComponent(variant)}`);
    expect(b.text).not.toContain("victim");
  });
});

describe("deception", () => {
  test("/api/account/x.css with a session stores nothing and serves nothing to others", async () => {
    const victim = await get("/api/account/x.css", { cookie: "sessionid=victim-session" });
    expect(victim.cs.params.ttl).toBeUndefined();
    const attacker = await get("/api/account/x.css");
    expect(attacker.text).not.toContain("victim-session");
  });

  for (const d of [";x.css", "%3Bx.css", "%23x.css", "%3Fx.css", "%00x.css", "%0Ax.css", "%0ax.css"]) {
    test(`delimiter ${d} after a per-user path stores nothing`, async () => {
      const victim = await get(`/api/account/${d}`, { authorization: "Token victim" });
      expect(victim.cs.params.ttl).toBeUndefined();
      const attacker = await get(`/api/account/${d}`);
      expect(attacker.cs.params.hit).toBeUndefined();
      expect(attacker.text).not.toContain("victim");
    });
  }

  test("..%2f traversal from a media path toward an API path stores nothing", async () => {
    const victim = await get("/media/..%2fapi%2faccount%2f", { authorization: "Token victim" });
    expect(victim.cs.params.ttl).toBeUndefined();
    const attacker = await get("/media/..%2fapi%2faccount%2f");
    expect(attacker.text).not.toContain("victim");
  });

  test("robots.txt under an API path is not cached as a static file", async () => {
    const victim = await get("/api/account/robots.txt", { cookie: "sessionid=victim-session" });
    expect(victim.cs.params.ttl).toBeUndefined();
    const attacker = await get("/api/account/robots.txt");
    expect(attacker.text).not.toContain("victim-session");
  });
});

describe("cached errors (CPDoS)", () => {
  const attacks = [
    ["an oversized header", { "x-oversized": "a".repeat(20_000) }, 431],
    ["meta-characters in a header", { "x-meta": "\u0001\u007f" }, 400],
    ["a method-override header", { "x-http-method-override": "DELETE" }, 405],
  ];
  for (const [name, headers, originStatus] of attacks) {
    test(`${name}: the origin's ${originStatus} is never stored and the next clean request gets 200`, async () => {
      const path = `/api/cpdos/${originStatus}/`;
      let attack;
      try {
        attack = await get(path, headers);
      } catch {
        attack = null; // the runtime may refuse the header itself: also no poisoning
      }
      // Either the worker refused it, or the attack header never reached the origin.
      if (attack && attack.r.status !== 200) expect(attack.cs.params.ttl).toBeUndefined();
      const clean = await get(path);
      expect(clean.r.status).toBe(200);
      expect(clean.json.url).toBe(path);
    });
  }
});

describe("users", () => {
  test("user B never sees user A's per-user entry, anonymous never sees either", async () => {
    const a = await get("/api/account/", { authorization: "Token userA" });
    const b = await get("/api/account/", { authorization: "Token userB" });
    expect(b.text).not.toContain("userA");
    expect((await get("/api/account/", { authorization: "Token userB" })).text).not.toContain("userA");
    const anon = await get("/api/account/");
    expect(anon.text).not.toContain("userA");
    expect(anon.text).not.toContain("userB");
    expect(a.json.headers.authorization).toBe("Token userA");
  });

  test("the same user via session cookie and via a different cookie value are different users", async () => {
    await get("/api/account/", { cookie: "sessionid=s1" });
    const other = await get("/api/account/", { cookie: "sessionid=s2" });
    expect(other.cs.params.hit).toBeUndefined();
    expect(other.text).toContain("s2");
  });

  test("a forged X-User-Id changes nothing", async () => {
    await get("/api/account/", { authorization: "Token userC" });
    const forged = await get("/api/account/", { "x-user-id": "userC" });
    expect(forged.text).not.toContain("userC");
    expect(forged.json.headers["x-user-id"]).toBeUndefined();
  });

  test("an authenticated request on a shared route never fills the anonymous entry", async () => {
    await get("/api/shared/", { authorization: "Token userD" });
    const anon = await get("/api/shared/");
    expect(anon.text).not.toContain("userD");
  });
});

describe("webhook", () => {
  const url = `${BASE}/__edgecache/purge`;
  const body = JSON.stringify({ tags: ["t"] });
  const send = (headers, b = body) => worker.fetch(url, { method: "POST", headers, body: b });
  test("a wrong-length signature is refused", async () => {
    const h = signWebhook(body);
    const r = await send({ ...h, "webhook-signature": h["webhook-signature"].slice(0, -4) + "AA==" + "AAAA" });
    expect(r.status).toBe(401);
  });
  test("a partial (truncated) signature is refused", async () => {
    const h = signWebhook(body);
    const r = await send({ ...h, "webhook-signature": h["webhook-signature"].slice(0, 20) });
    expect(r.status).toBe(401);
  });
  test("a signature for another id is refused (no id swapping)", async () => {
    const h = signWebhook(body);
    const r = await send({ ...h, "webhook-id": "msg_other" });
    expect(r.status).toBe(401);
  });
  test("a replay inside the window does no new work", async () => {
    const h = signWebhook(body);
    const first = await (await send(h)).json();
    const again = await (await send(h)).json();
    expect(again.replayed).toBe(true);
    expect(again.received_at).toBe(first.received_at);
  });
  test("a purge never reaches the origin", async () => {
    await (await purge(worker, { everything: true })).text();
    expect(origin.requests.length).toBe(0);
  });
});
