// A stand-in of Cloudflare's zone purge API on loopback (issue 25.4), for the
// tests and `tests/load/purge-fast.mjs`: `POST {api_base}/zones/{zone}/purge_cache`
// with the real API's bodies, answers, per-plan limits and error envelope,
// which after `delayMs` (default 150 ms, Instant Purge's p50) deletes the
// matching Cache API entries in *every* emulated data centre (each Miniflare
// instance started by `startWorker` is one, with its own cache).
//
// Limits, per account, as Cloudflare documents them
// (https://developers.cloudflare.com/cache/how-to/purge-cache/):
//   tag / prefix / host / everything: Free 5 requests a minute (bucket 25),
//     Pro 5/s (25), Business 10/s (50), Enterprise 50/s (500); at most 100
//     items a request on every plan;
//   URLs (`files`): Free 800 URLs/s, Pro and Business 1,500, Enterprise 3,000
//     (Cloudflare counts a moving average; here a bucket of one second's worth);
//     at most 100 URLs a request (Enterprise 500).
// A request over a limit is answered 429 with `Retry-After` (whole seconds) and
// costs nothing; one over the items per request is a 400. Every answer is the
// v4 envelope `{success, errors: [{code, message}], messages, result}`; the
// codes for auth (10000), routing (7003), throttling (971) and a body without
// one purge field (1012) are the API's; 1018 (too many items) is this stand-in's.
//
// WHAT IT CAN AND CANNOT REACH. The Cache API has no listing, and the worker
// must not know it is tested, so the stand-in deletes only among the keys it
// knows: those a test gives it (`watch`) or learns through a location's own
// `/__edgecache/explain` (`learn`: the key the worker stores a URL and its
// request headers under, variant keys included). For each known key it
// `match`es the entry in each location's `caches.default` (Miniflare's
// `getCaches()`, from outside the worker) as the call arrives, and deletes
// those it reaches `delayMs` later (a URL purge deletes its URLs, known or not):
//   tags      its `Cache-Tag` holds one of them (case-insensitive, as Cloudflare);
//   files     its key is one of the URLs (a purge by URL reaches only the entry
//             stored under exactly that URL: no variant);
//   hosts     its host is one of them;
//   prefixes  `host/path` starts with one of them;
//   everything always.
// To keep a purge by tag cheap it remembers each key's `Cache-Tag` as last
// read and reads only the keys that carried a purged tag (or were never
// read): an entry whose origin changed its tags since is missed until read
// again (every test here keeps an entry's tags).
// An entry under a key nobody told it about is not reached, where Cloudflare's
// real purge would reach it: a test relying on it must `watch` or `learn` the
// key. Whether production's prefix and host purges reach Cache API entries at
// all is not established here (Cloudflare documents tags and URLs for them);
// the stand-in is generous there, so do not rely on it for those.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { SECRETS } from "./harness.mjs";

/** Per-plan limits (see the header). `perSec`/`bucket`: tag, prefix, host and everything requests. */
export const ZONE_PLANS = {
  free: { perSec: 5 / 60, bucket: 25, items: 100, urlsPerSec: 800, urlItems: 100 },
  pro: { perSec: 5, bucket: 25, items: 100, urlsPerSec: 1500, urlItems: 100 },
  business: { perSec: 10, bucket: 50, items: 100, urlsPerSec: 1500, urlItems: 100 },
  enterprise: { perSec: 50, bucket: 500, items: 100, urlsPerSec: 3000, urlItems: 500 },
};

const FIELDS = ["files", "tags", "hosts", "prefixes", "purge_everything"];

/** A token bucket: `size` tokens, refilled at `perSec`; time in ms from `now()`. */
export class TokenBucket {
  constructor(perSec, size, now) {
    this.perSec = perSec;
    this.size = size;
    this.tokens = size;
    this.now = now;
    this.at = now();
  }
  #refill() {
    const t = this.now();
    this.tokens = Math.min(this.size, this.tokens + ((t - this.at) / 1000) * this.perSec);
    this.at = t;
  }
  /** Takes `n` tokens: `{ ok: true }`, or `{ ok: false, retryAfter }` (whole seconds) taking none. */
  take(n = 1) {
    this.#refill();
    if (this.tokens + 1e-9 >= n) {
      this.tokens -= n;
      return { ok: true };
    }
    return { ok: false, retryAfter: Math.max(1, Math.ceil((n - this.tokens) / this.perSec)) };
  }
}

const envelope = (status, result, errors = []) => ({
  status,
  body: { success: errors.length === 0, errors, messages: [], result },
});
const error = (status, code, message) => envelope(status, null, [{ code, message }]);

/**
 * The API's decision on one request, before any deletion (pure but for the
 * buckets' clock): `{ status, body, headers?, purge? }`, `purge` = `{ kind, items }`.
 */
export class ZoneLimits {
  constructor({ plan = "free", zone = "zone123", token = SECRETS_ZONE_TOKEN, now = () => Date.now() } = {}) {
    const p = ZONE_PLANS[plan];
    if (!p) throw new Error(`unknown plan ${plan}: one of ${Object.keys(ZONE_PLANS).join(", ")}`);
    Object.assign(this, { plan, limits: p, zone, token });
    this.requests = new TokenBucket(p.perSec, p.bucket, now);
    this.urls = new TokenBucket(p.urlsPerSec, p.urlsPerSec, now);
  }

  decide({ method, path, authorization, body }) {
    const m = path.match(/^(?:.*)\/zones\/([^/]+)\/purge_cache$/);
    if (method !== "POST" || !m) return error(404, 7000, "No route for that URI");
    if (authorization !== `Bearer ${this.token}`) return error(403, 10000, "Authentication error");
    if (m[1] !== this.zone) {
      return error(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
    }
    let json;
    try {
      json = JSON.parse(body);
    } catch {
      return error(400, 1012, "Request must contain one of \"purge_everything\", \"files\", \"tags\", \"hosts\" or \"prefixes\"");
    }
    const present = FIELDS.filter((f) => json?.[f] !== undefined);
    const kind = present[0];
    const items = kind === "purge_everything" ? [] : json[kind];
    const ok = present.length === 1 && (kind === "purge_everything" ? json[kind] === true : Array.isArray(items) && items.length > 0);
    if (!ok) {
      return error(400, 1012, "Request must contain one of \"purge_everything\", \"files\", \"tags\", \"hosts\" or \"prefixes\"");
    }
    const max = kind === "files" ? this.limits.urlItems : this.limits.items;
    if (items.length > max) return error(400, 1018, `Only ${max} ${kind} may be purged per request on the ${this.plan} plan`);
    const taken = kind === "files" ? this.urls.take(items.length) : this.requests.take(1);
    if (!taken.ok) {
      return { ...error(429, 971, "Please wait and consider throttling your request speed"), headers: { "retry-after": String(taken.retryAfter) } };
    }
    const id = randomBytes(16).toString("hex");
    return { ...envelope(200, { id }), purge: { kind, items: items.map((i) => (typeof i === "string" ? i : i.url)) } };
  }
}

/** The token tests give the worker (`EDGECACHE_ZONE_TOKEN`) and the stand-in. */
export const SECRETS_ZONE_TOKEN = "test-zone-token";

/** Whether the entry under `key` (its `Cache-Tag`, `tags` lower-cased) is reached by `purge`. */
export function reaches(purge, key, cacheTag) {
  const u = new URL(key);
  switch (purge.kind) {
    case "purge_everything":
      return true;
    case "files":
      return purge.items.includes(key);
    case "hosts":
      return purge.items.map((h) => h.toLowerCase()).includes(u.hostname);
    case "prefixes":
      return purge.items.some((p) => `${u.host}${u.pathname}${u.search}`.startsWith(p.replace(/^https?:\/\//, "")));
    case "tags": {
      const have = new Set((cacheTag ?? "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean));
      return purge.items.some((t) => have.has(t.toLowerCase()));
    }
    default:
      return false;
  }
}

/**
 * Starts the stand-in. `plan`: a key of ZONE_PLANS; `delayMs`: from a call's
 * 200 to its deletions; `zone`, `token`: what it accepts. Returns
 * `{ apiBase, zone, token, calls, stats, addLocation, watch, learn, settled, close }`:
 * `apiBase` goes into `purge.api_base`; `calls` records every request
 * `{ at, status, kind, items, retryAfter, appliedAt, deleted }`.
 */
export async function startZoneApi({ plan = "free", delayMs = 150, zone = "zone123", token = SECRETS_ZONE_TOKEN, now } = {}) {
  const limits = new ZoneLimits({ plan, zone, token, now });
  const locations = [];
  const keys = new Set();
  const calls = [];
  const pending = new Set();
  const stats = { accepted: 0, refused: 0, rejected: 0, items: 0, deleted: 0 };

  // Each known key's tags as last read (from any location), so that a purge
  // by tag reads only the entries that may carry the tag (and those never
  // read yet), not every known key in every location.
  const tagsOf = new Map();
  const mayCarry = (key, purge) => !tagsOf.has(key) || reaches(purge, key, tagsOf.get(key));
  // The entries `purge` reaches in each location, found as the call arrives
  // (`match`es in parallel: only a purge by tag needs to read an entry).
  const reached = (purge) =>
    Promise.all(
      locations.map(async (loc) => {
        const cache = (await loc.mf.getCaches()).default;
        if (purge.kind === "files") return { cache, found: purge.items };
        const candidates = purge.kind === "tags" ? [...keys].filter((k) => mayCarry(k, purge)) : [...keys];
        const found = await Promise.all(
          candidates.map(async (key) => {
            if (purge.kind !== "tags") return reaches(purge, key, null) ? key : null;
            const r = await cache.match(key);
            if (!r) return null;
            const tag = r.headers.get("cache-tag");
            await r.arrayBuffer();
            tagsOf.set(key, tag);
            return reaches(purge, key, tag) ? key : null;
          }),
        );
        return { cache, found: found.filter(Boolean) };
      }),
    );
  // Deleted `delayMs` after the call (later only if finding them took longer).
  const apply = async (purge, call) => {
    const [found] = await Promise.all([reached(purge), new Promise((r) => setTimeout(r, delayMs))]);
    for (const { cache, found: ks } of found) {
      const done = await Promise.all(ks.map((k) => cache.delete(k)));
      call.deleted += done.filter(Boolean).length;
    }
    call.appliedAt = Date.now();
    stats.deleted += call.deleted;
  };

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const out = limits.decide({
      method: req.method,
      path: new URL(req.url, "http://x").pathname,
      authorization: req.headers.authorization,
      body: Buffer.concat(chunks).toString(),
    });
    const call = { at: Date.now(), status: out.status, kind: out.purge?.kind, items: out.purge?.items ?? [], retryAfter: out.headers?.["retry-after"], deleted: 0 };
    calls.push(call);
    if (out.status === 200) {
      stats.accepted += 1;
      stats.items += call.items.length;
      const job = apply(out.purge, call);
      pending.add(job);
      job.finally(() => pending.delete(job));
    } else if (out.status === 429) stats.refused += 1;
    else stats.rejected += 1;
    res.writeHead(out.status, { "content-type": "application/json", ...(out.headers ?? {}) });
    res.end(JSON.stringify(out.body));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}/client/v4`;
  return {
    apiBase: base,
    zone,
    token,
    plan,
    delayMs,
    calls,
    stats,
    /** A data centre (a started worker) whose cache the purges reach. */
    addLocation(worker) {
      locations.push(worker);
    },
    /** Key URLs the purges may reach. */
    watch(keyUrls) {
      for (const k of keyUrls) keys.add(k);
    },
    /**
     * Learns the key `worker` stores `url` under for a request with `headers`
     * (pairs), through its `/__edgecache/explain`, and its tags if a location
     * holds it already; returns it. Name every header the requests sent:
     * Miniflare's `dispatchFetch` adds `Accept-Language: *` when none is given.
     */
    async learn(worker, url, headers = []) {
      const q = new URLSearchParams({ url });
      for (const [n, v] of headers) q.append("h", `${n}: ${v}`);
      const r = await worker.fetch(`${new URL(url).origin}/__edgecache/explain?${q}`, {
        headers: { authorization: `Bearer ${SECRETS.EDGECACHE_EXPLAIN_TOKEN}` },
      });
      const { key } = await r.json();
      if (!key) throw new Error(`${url} has no cache key`);
      keys.add(key);
      // Its tags, if a location holds it already.
      for (const loc of locations) {
        const r = await (await loc.mf.getCaches()).default.match(key);
        if (!r) continue;
        tagsOf.set(key, r.headers.get("cache-tag"));
        await r.arrayBuffer();
        break;
      }
      return key;
    },
    /** Resolves once every accepted call's deletions are done. */
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    async close() {
      await this.settled();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
