// Test harness: a real origin server on loopback whose answers each test
// controls, and the built worker (build/index.js + wasm) running in workerd
// through Miniflare. Two workers sharing a KV directory but not a cache stand
// for two data centres; KV behaves as in production (tests/e2e/kv/).
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createHmac, randomUUID } from "node:crypto";
import http from "node:http";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { createCentral } from "./kv/standin.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const COMPAT_DATE = "2026-04-01";

/**
 * Starts an origin on 127.0.0.1 with a random port. `handler(req, body)` returns
 * `{status, headers, body}` (body: string | Buffer) or handles `res` itself when it
 * returns undefined. Every request is recorded in `origin.requests`.
 */
export async function startOrigin(handler) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const rec = { method: req.method, url: req.url, headers: req.headers, body };
    requests.push(rec);
    try {
      const out = await handler(rec, res);
      if (out === undefined) return;
      res.writeHead(out.status ?? 200, out.headers ?? {});
      res.end(out.body ?? "");
    } catch (e) {
      res.writeHead(599);
      res.end(String(e));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    hits(pathPrefix) {
      return requests.filter((r) => r.url.startsWith(pathPrefix)).length;
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

export const SECRETS = {
  EDGECACHE_KEY_SECRET: "test-key-secret-0123456789abcdef",
  EDGECACHE_EXPLAIN_TOKEN: "test-explain-token",
  // whsec_ + base64("edgecache-test-webhook-secret!!")
  EDGECACHE_WEBHOOK_SECRET: "whsec_ZWRnZWNhY2hlLXRlc3Qtd2ViaG9vay1zZWNyZXQhIQ==",
};

/**
 * KV as production has it, for every worker the tests start (tests/e2e/kv/):
 * one write per second per key (shared by every worker on the same KV
 * directory), 1,000 operations per invocation, and `kvDelayMs` of
 * propagation between data centres (each worker is one; default
 * `KV_DELAY_MS`). `kvLimits: false` turns the write and operation limits off
 * (only for a test that shows what they change).
 */
export const KV_DELAY_MS = 100;
const centrals = new Map();

/** The write-rate clock and counters of a KV directory (or of one worker). */
export function kvCentral(kvDir) {
  let c = centrals.get(kvDir);
  if (!c) {
    c = createCentral();
    centrals.set(kvDir, c);
  }
  return c;
}

let workerSeq = 0;
/** KV directory -> the worker hosting its purge writer: {name, registry}. */
const writerHosts = new Map();
/** A dev registry directory, removed when the last worker using it is disposed. */
function registryDir() {
  return { ...tempDir("edgecache-registry-"), users: 0 };
}

/**
 * The purge writer (Durable Object `PurgeWriter`, binding EDGECACHE_WRITER),
 * as the shipped wrangler.toml binds it: the first worker on a KV directory
 * hosts it, later ones reach that one instance through Miniflare's dev
 * registry (as `wrangler dev` links workers in separate processes).
 */
function writerOptions(name, group, opts) {
  if (opts.writer === false || opts.kv === false) return {};
  if (opts.writer === "unreachable") {
    // Bound to a writer no worker hosts: every hand-off fails.
    const registry = registryDir();
    return {
      registry,
      name,
      unsafeDevRegistryPath: registry.dir,
      durableObjects: { EDGECACHE_WRITER: { className: "PurgeWriter", scriptName: "edgecache-nowhere", useSQLite: true } },
    };
  }
  const own = { EDGECACHE_WRITER: { className: "PurgeWriter", useSQLite: true } };
  if (!opts.kvPersist) return { name, durableObjects: own };
  const host = writerHosts.get(group);
  if (!host) {
    const registry = registryDir();
    writerHosts.set(group, { name, registry });
    return {
      registry,
      name,
      unsafeDevRegistryPath: registry.dir,
      durableObjects: own,
    };
  }
  return {
    registry: host.registry,
    name,
    unsafeDevRegistryPath: host.registry.dir,
    durableObjects: { EDGECACHE_WRITER: { className: "PurgeWriter", scriptName: host.name, useSQLite: true } },
  };
}

/** Starts the built worker in workerd with the given EDGECACHE config object. */
export async function startWorker(config, opts = {}) {
  workerSeq += 1;
  const location = opts.location ?? `dc${workerSeq}`;
  const group = opts.kvPersist || `private:${location}`;
  const central = opts.kvLimits === false ? null : kvCentral(group);
  const kv = opts.kv !== false;
  const { registry, ...writer } = writerOptions(`edgecache-${location}`, group, opts);
  if (registry) registry.users += 1;
  const mf = new Miniflare({
    ...writer,
    scriptPath: path.join(ROOT, "tests/e2e/kv/entry.mjs"),
    modulesRoot: ROOT,
    modules: true,
    modulesRules: [
      { type: "CompiledWasm", include: ["**/*.wasm"] },
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    ],
    compatibilityDate: COMPAT_DATE,
    bindings: {
      EDGECACHE: config,
      ...SECRETS,
      ...(opts.bindings ?? {}),
      KV_EMULATION: { location, delayMs: opts.kvDelayMs ?? KV_DELAY_MS, opLimit: opts.kvLimits === false ? 0 : 1000 },
    },
    kvNamespaces: kv ? ["EDGECACHE_KV_INNER"] : [],
    // R2 bucket bindings (Miniflare's local R2), for `r2` origins.
    r2Buckets: opts.r2Buckets ?? [],
    serviceBindings: central ? { KV_CENTRAL: (request) => central.handle(request) } : {},
    kvPersist: opts.kvPersist ?? false,
    cachePersist: opts.cachePersist ?? false,
    ...(opts.listen ? { host: "127.0.0.1", port: 0 } : {}),
    // By default the per-request and per-purge lines and the cache_store
    // events (docs/observability.md) are dropped and everything else the worker prints is shown
    // (EDGECACHE_TEST_LOGS=1 shows them too); quiet: drop everything;
    // logs: an array that collects the stdout lines instead, one string a line.
    handleRuntimeStdio: (out, err) => {
      if (opts.logs) return collectLines(out, opts.logs), err.resume();
      if (opts.quiet) return out.resume(), err.resume();
      const show = process.env.EDGECACHE_TEST_LOGS === "1";
      // The request, purge and cache_store lines are routine; other events show.
      const routine = (line) => line.startsWith('{"edgecache":') || line.includes('"edgecache":"cache_store"');
      forwardLines(out, process.stdout, (line) => show || !routine(line));
      err.pipe(process.stderr);
    },
  });
  if (central && opts.writerRttMs !== undefined) central.writer.rttMs[location] = opts.writerRttMs;
  const url = await mf.ready;
  return {
    mf,
    location,
    /**
     * The writer as this data centre reaches it (kvPersist groups):
     * `{ rttMs, down: false | "error" | "hang" }`; the log reads it sent so far.
     */
    setWriter({ rttMs, down } = {}) {
      if (rttMs !== undefined) central.writer.rttMs[location] = rttMs;
      if (down !== undefined) central.writer.down[location] = down;
    },
    writerRequests: () => central?.writer.requests[location] ?? 0,
    /** The worker's HTTP address (only with `listen: true`). */
    url: opts.listen ? url.origin : undefined,
    /** Writes, 429s and op-limit hits of this worker's KV (shared with its KV directory). */
    kvStats: central?.stats,
    /** The real KV namespace behind the stand-in (for inspection). */
    kvNamespace: () => mf.getKVNamespace("EDGECACHE_KV_INNER"),
    fetch(url, init) {
      return mf.dispatchFetch(url, init);
    },
    async dispose() {
      await mf.dispose();
      if (registry && --registry.users === 0) registry.remove();
    },
  };
}

/** Pushes each line of `stream` onto `lines`. */
/** Writes `stream`'s lines that `keep` accepts to `target`. */
function forwardLines(stream, target, keep) {
  const lines = [];
  collectLines(stream, lines);
  stream.on("data", () => {
    for (const line of lines.splice(0)) if (keep(line)) target.write(line + "\n");
  });
}

function collectLines(stream, lines) {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop();
    lines.push(...parts);
  });
}

export function tempDir(prefix = "edgecache-") {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parses an RFC 9211 Cache-Status value from one cache into {name, params}. */
export function cacheStatus(res) {
  const v = res.headers.get("cache-status");
  if (!v) return null;
  const [name, ...rest] = v.split(";").map((s) => s.trim());
  const params = {};
  for (const p of rest) {
    const i = p.indexOf("=");
    if (i < 0) params[p] = true;
    else params[p.slice(0, i)] = p.slice(i + 1).replace(/^"|"$/g, "");
  }
  return { name, params, raw: v };
}

/**
 * Signs a purge body the Standard Webhooks way with node:crypto (an
 * implementation independent of the worker's Rust one).
 */
export function signWebhook(body, { secret = SECRETS.EDGECACHE_WEBHOOK_SECRET, id, timestamp } = {}) {
  const msgId = id ?? `msg_${randomUUID().replaceAll("-", "")}`;
  const ts = String(timestamp ?? Math.floor(Date.now() / 1000));
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const sig = createHmac("sha256", key).update(`${msgId}.${ts}.${body}`).digest("base64");
  return { "webhook-id": msgId, "webhook-timestamp": ts, "webhook-signature": `v1,${sig}`, "content-type": "application/json" };
}

/** Sends a signed purge to a started worker; returns the Response. */
export function purge(worker, payload, opts = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers = { ...signWebhook(body, opts), ...(opts.headers ?? {}) };
  return worker.fetch(`https://${opts.host ?? "api.example.com"}/__edgecache/purge`, { method: "POST", headers, body });
}

/**
 * An origin whose answer depends on the request path: `origin.on(path, fn)` sets the
 * handler for one path (`fn(req, res)` as in `startOrigin`); other paths answer 200
 * JSON `{n, url}` where `n` counts every request the origin has seen.
 */
export async function startRoutedOrigin() {
  const handlers = new Map();
  let n = 0;
  const origin = await startOrigin((req, res) => {
    n += 1;
    const p = new URL(req.url, "http://x").pathname;
    const h = handlers.get(p);
    if (h) return h(req, res, n);
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n, url: req.url }),
    };
  });
  origin.on = (p, fn) => handlers.set(p, fn);
  return origin;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Repeats `request()` (which returns a Response-like with a `cache-status`)
 * until it is a hit: the cache's copy is written in `wait_until`, after the
 * response that caused it, so an immediate second request may still miss.
 */
export async function untilHit(request, { tries = 40, delayMs = 25 } = {}) {
  let last;
  for (let i = 0; i < tries; i++) {
    last = await request();
    if (last.hit) return last;
    await sleep(delayMs);
  }
  return last;
}

/** The demo origin (examples/django) and its virtualenv's Python. */
export const DJANGO_DIR = path.join(ROOT, "examples/django");
const DJANGO_PYTHON = path.join(DJANGO_DIR, ".venv/bin/python");

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * The EDGECACHE var of a wrangler.toml (of environment `env`), validated by
 * `edgecache check --json`: what the worker receives.
 */
export function checkedVar(file, env) {
  const envArgs = env ? ["--env", env] : [];
  const out = execFileSync(
    "cargo",
    ["run", "--quiet", "--bin", "edgecache", "--", "check", "--json", "--config", path.resolve(ROOT, file), ...envArgs],
    { cwd: ROOT },
  );
  return JSON.parse(out.toString());
}

/**
 * Starts the demo origin (Django runserver) on `port` (pick it with
 * `freePort()` first when the worker's config must name it) with a private
 * copy of the demo database; `env` is added to its environment (the purge URL
 * and secret, say). Resolves `{ url, kill, manage }` once it answers; `await
 * manage(args)` runs a `manage.py` command against the same database and environment
 * and resolves its stdout (asynchronously: a server in this process, such as a relay
 * the command posts to, keeps answering meanwhile).
 * `examples/django/setup.sh` must have run (make test runs it).
 */
export async function startDemoOrigin({ port, env = {} }) {
  if (!existsSync(DJANGO_PYTHON) || !existsSync(path.join(DJANGO_DIR, "db.sqlite3"))) {
    throw new Error("run examples/django/setup.sh first (make test does)");
  }
  const dir = tempDir("edgecache-django-");
  const db = path.join(dir.dir, "db.sqlite3");
  copyFileSync(path.join(DJANGO_DIR, "db.sqlite3"), db);
  const url = `http://127.0.0.1:${port}`;
  const django = spawn(DJANGO_PYTHON, ["manage.py", "runserver", "--noreload", `127.0.0.1:${port}`], {
    cwd: DJANGO_DIR,
    env: { ...process.env, DJANGO_DB_PATH: db, PYTHONUNBUFFERED: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  django.stdout.on("data", (d) => (log += d));
  django.stderr.on("data", (d) => (log += d));
  const kill = () => {
    django.kill();
    dir.remove();
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/api/courses/`)).ok) break;
    } catch {}
    if (i > 100 || django.exitCode !== null) {
      kill();
      throw new Error(`django did not start:\n${log}`);
    }
    await sleep(100);
  }
  const manage = async (args) =>
    (
      await promisify(execFile)(DJANGO_PYTHON, ["manage.py", ...args], {
        cwd: DJANGO_DIR,
        env: { ...process.env, DJANGO_DB_PATH: db, PYTHONUNBUFFERED: "1", ...env },
      })
    ).stdout;
  return { url, kill, manage };
}
