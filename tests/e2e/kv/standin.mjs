// A Workers KV namespace that behaves like production, for the tests. It wraps
// the real (Miniflare) KV namespace and adds what Miniflare's lacks:
//
// - at most one write per second per key, across every data centre: a write
//   within a second of the last one to the same key is refused the way
//   production refuses it (the put rejects with "KV PUT failed: 429 Too Many
//   Requests"). The clock that decides is shared by every worker of a test: it
//   lives in the test process (`central`, a service binding to Node).
// - at most 1,000 operations per invocation: the next one throws.
// - propagation: each location (data centre) caches what it read, including
//   "not found", for `delayMs`; a write made elsewhere is seen there only once
//   that cached read has expired. A write is seen at once where it was made.
//
// It runs inside workerd, in front of the worker's real glue (worker::KvStore
// calls get/put like on any KV binding); see entry.mjs.

export const OPS_PER_INVOCATION = 1000;

/** Per-location read caches: location name -> Map(key -> {value, until}). */
const caches = new Map();

function cacheOf(location) {
  let c = caches.get(location);
  if (!c) {
    c = new Map();
    caches.set(location, c);
  }
  return c;
}

export class KvNamespace {
  /**
   * `inner`: the real KV namespace. `central`: an object with
   * `mayWrite(key) -> Promise<boolean>` shared by every location (may be null:
   * no write limit). `options`: `{ location, delayMs, opLimit, now }`.
   */
  constructor(inner, central, options = {}) {
    this.inner = inner;
    this.central = central;
    this.location = options.location ?? "here";
    this.delayMs = options.delayMs ?? 0;
    this.opLimit = options.opLimit ?? OPS_PER_INVOCATION;
    this.now = options.now ?? (() => Date.now());
    this.ops = 0;
  }

  #count(what) {
    this.ops += 1;
    if (this.opLimit > 0 && this.ops > this.opLimit) {
      this.central?.report?.("op_limit");
      throw new Error(`KV ${what} failed: Too many API requests by single worker invocation.`);
    }
  }

  async get(key, options) {
    this.#count("GET");
    const type = typeof options === "string" ? options : (options?.type ?? "text");
    if (type !== "text" && type !== "json") return this.inner.get(key, options);
    const text = await this.#readText(key);
    return type === "json" && text !== null ? JSON.parse(text) : text;
  }

  async getWithMetadata(key, options) {
    this.#count("GET");
    return this.inner.getWithMetadata(key, options);
  }

  async #readText(key) {
    const cache = cacheOf(this.location);
    const now = this.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await this.inner.get(key, "text");
    if (this.delayMs > 0) cache.set(key, { value, until: now + this.delayMs });
    return value;
  }

  async put(key, value, options) {
    this.#count("PUT");
    if (this.central && !(await this.central.mayWrite(key))) {
      throw new Error("KV PUT failed: 429 Too Many Requests");
    }
    await this.inner.put(key, value, options);
    // Seen at once where it was written (if it was read here before).
    const cache = cacheOf(this.location);
    if (cache.has(key)) cache.set(key, { value: typeof value === "string" ? value : null, until: this.now() + this.delayMs });
  }

  async delete(key) {
    this.#count("DELETE");
    cacheOf(this.location).delete(key);
    return this.inner.delete(key);
  }

  async list(options) {
    this.#count("LIST");
    return this.inner.list(options);
  }
}

/**
 * The write-rate clock as seen from inside workerd: asks the test process
 * through the `KV_CENTRAL` service binding.
 */
export function centralVia(service) {
  if (!service) return null;
  return {
    async mayWrite(key) {
      const r = await service.fetch(`http://kv-central/put?key=${encodeURIComponent(key)}`, { method: "POST" });
      return r.status === 204;
    },
    report(what) {
      service.fetch(`http://kv-central/report?what=${what}`, { method: "POST" }).catch(() => {});
    },
  };
}

/**
 * The test process's side: one per shared namespace. Keeps the last write
 * time per key and counts writes, refusals and op-limit hits.
 */
export function createCentral({ writeIntervalMs = 1000, now = () => Date.now() } = {}) {
  const lastWrite = new Map();
  // refuseUntil: a test may make KV refuse every write until then (ms).
  const stats = { writes: 0, refused: 0, op_limit: 0, refuseUntil: 0 };
  // The writer as each data centre reaches it: round trip (ms) and whether it
  // is down from there (false | "error" | "hang"); log reads counted per
  // location (`requests[location]`), hand-offs as `requests["<location>:handoff"]`.
  const writer = { rttMs: {}, down: {}, requests: {} };
  return {
    stats,
    writer,
    mayWrite(key) {
      const t = now();
      const last = lastWrite.get(key);
      if (t < stats.refuseUntil || (writeIntervalMs > 0 && last !== undefined && t - last < writeIntervalMs)) {
        stats.refused += 1;
        return false;
      }
      lastWrite.set(key, t);
      stats.writes += 1;
      return true;
    },
    /** The Node function behind the `KV_CENTRAL` service binding. */
    async handle(request) {
      const url = new URL(request.url);
      if (url.pathname === "/put") {
        return new Response(null, { status: this.mayWrite(url.searchParams.get("key")) ? 204 : 429 });
      }
      if (url.pathname === "/writer") {
        const loc = url.searchParams.get("location");
        const what = url.searchParams.get("what") === "log" ? "" : ":handoff";
        writer.requests[loc + what] = (writer.requests[loc + what] ?? 0) + 1;
        const body = { rttMs: writer.rttMs[loc] ?? 0, down: writer.down[loc] ?? false };
        return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
      }
      if (url.pathname === "/report") {
        const what = url.searchParams.get("what");
        if (what in stats) stats[what] += 1;
        return new Response(null, { status: 204 });
      }
      return new Response("not found", { status: 404 });
    },
  };
}
