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
  if (!inner) return rest;
  const opts = { ...(options ?? {}), ...(location ? { location } : {}) };
  return { ...rest, EDGECACHE_KV: new KvNamespace(inner, centralVia(central), opts) };
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
