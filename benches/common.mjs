// Shared by the workerd benches (load.mjs, profile-hit.mjs): the repo root,
// the compatibility date, bench-only secrets, the origin process and a timed GET.
import http from "node:http";
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
