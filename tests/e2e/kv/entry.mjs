// The worker as the tests run it: the built edgecache worker (build/index.js,
// unchanged), with its EDGECACHE_KV binding replaced by the production-like
// stand-in (standin.mjs) around the real KV namespace. A fresh stand-in per
// invocation, so its operation count is the invocation's (work the invocation
// hands to wait_until included: it holds the same env).
//
// The Durable Object class PurgeWriter is wrapped the same way (below).
//
// Bindings this module reads (set by harness.mjs):
//   EDGECACHE_KV_INNER  the real KV namespace (absent: the worker has no KV)
//   KV_CENTRAL          service binding to the test process (write-rate clock)
//   KV_EMULATION        {location, delayMs, opLimit}
import { WorkerEntrypoint } from "cloudflare:workers";
import Edgecache, { PurgeWriter as Writer } from "../../../build/index.js";
import { KvNamespace, centralVia } from "./standin.mjs";

export function emulatedEnv(env, location) {
  const { EDGECACHE_KV_INNER: inner, KV_CENTRAL: central, KV_EMULATION: options, ...rest } = env;
  const opts = { ...(options ?? {}), ...(location ? { location } : {}) };
  // The round trip from this data centre to the writer's (location "writer"
  // is the writer itself: no wrapper).
  if (rest.EDGECACHE_WRITER && central && !location) {
    rest.EDGECACHE_WRITER = distantWriter(rest.EDGECACHE_WRITER, central, opts.location);
  }
  if (!inner) return rest;
  return { ...rest, EDGECACHE_KV: new KvNamespace(inner, centralVia(central), opts) };
}

/**
 * The writer's namespace as a distant data centre sees it: each request to
 * the object pays the round trip the test process sets for `location`
 * (half each way), and fails or hangs while the test says the writer is down
 * from there. Asked of the test process per request (`KV_CENTRAL /writer`).
 */
function distantWriter(ns, central, location) {
  return new DurableObjectNamespace(ns, central, location);
}

// Named as the runtime's class is: workers-rs checks a binding's constructor name.
class DurableObjectNamespace {
  constructor(ns, central, location) {
    this.ns = ns;
    this.central = central;
    this.location = location;
  }
  idFromName(name) {
    return this.ns.idFromName(name);
  }
  get(id) {
    const { central, location } = this;
    const stub = this.ns.get(id);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    return {
      async fetch(input, init) {
        const what = String(input?.url ?? input).includes("/log") ? "log" : "handoff";
        const q = `location=${encodeURIComponent(location)}&what=${what}`;
        const r = await central.fetch(`http://kv-central/writer?${q}`);
        const { rttMs, down } = await r.json();
        await sleep(rttMs / 2);
        if (down === "hang") await new Promise(() => {});
        if (down) throw new Error("Network connection lost. (emulated: writer unreachable)");
        const answer = await stub.fetch(input, init);
        const body = await answer.arrayBuffer();
        await sleep(rttMs / 2);
        return new Response(body, { status: answer.status, headers: answer.headers });
      },
    };
  }
}

export default class extends WorkerEntrypoint {
  fetch(request) {
    return Edgecache.prototype.fetch.call({ env: emulatedEnv(this.env), ctx: this.ctx }, request);
  }
}

// The purge writer (a Durable Object) the same way: the real class, a fresh
// instance per invocation (it keeps nothing in memory, all in its storage) so
// each alarm's operations are counted on their own. It is a location of its own.
export class PurgeWriter {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
  fetch(request) {
    return new Writer(this.ctx, emulatedEnv(this.env, "writer")).fetch(request);
  }
  alarm(info) {
    return new Writer(this.ctx, emulatedEnv(this.env, "writer")).alarm(info);
  }
}
