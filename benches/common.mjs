// Shared by the workerd benches (load.mjs, profile-hit.mjs): the repo root,
// the compatibility date, bench-only secrets, the origin process and a timed GET.
import http from "node:http";
import { readFileSync, readdirSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const COMPAT_DATE = "2026-04-01";

export const SECRETS = {
  EDGECACHE_KEY_SECRET: "bench-key-secret-0123456789abcdef",
  EDGECACHE_EXPLAIN_TOKEN: "bench-explain-token",
  EDGECACHE_WEBHOOK_SECRET: "whsec_ZWRnZWNhY2hlLXRlc3Qtd2ViaG9vay1zZWNyZXQhIQ==",
};

/** benches/origin.mjs in its own process; resolves {child, url}. */
export function startOrigin() {
  const child = spawn(process.execPath, [path.join(ROOT, "benches/origin.mjs")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve({ child, url: `http://127.0.0.1:${String(d).trim()}` }));
    child.once("error", reject);
  });
}

/** GET base+target with `agent`; resolves {ms, status, headers} once the body is read. */
export function get(agent, base, target) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = http.get(base + target, { agent, headers: { accept: "application/json" } }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode, headers: res.headers }),
      );
    });
    req.on("error", reject);
  });
}

/** Direct child processes of this one (Linux /proc); workerd is one per Miniflare. */
export function children() {
  const out = new Set();
  for (const t of readdirSync(`/proc/${process.pid}/task`)) {
    const c = readFileSync(`/proc/${process.pid}/task/${t}/children`, "utf8").trim();
    for (const p of c.split(/\s+/).filter(Boolean)) out.add(Number(p));
  }
  return out;
}

/** CPU time (ms, user + system) a process has used so far, or NaN. */
export function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks at USER_HZ = 100
  } catch {
    return NaN;
  }
}
