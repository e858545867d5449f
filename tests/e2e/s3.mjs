// A real S3-compatible server on loopback for the e2e tests: moto in server
// mode (installed into .venv-s3 by scripts/setup.sh), with a private bucket
// that only a signed request of the key s3/moto_setup.py creates can read.
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, sleep } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const VENV = path.join(ROOT, ".venv-s3/bin");

/** Byte i is i mod 251: what moto_setup.py stores for `pattern_bytes`. */
export function pattern(n, from = 0) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (from + i) % 251;
  return out;
}

/**
 * Starts moto on a free port and sets up `bucket` with `objects` (see
 * s3/moto_setup.py), or, with `demo: true`, the `make dev` bucket
 * (scripts/dev_bucket.py seed). Resolves `{ url, credentials:
 * {access_key_id, secret_access_key}, close }`.
 */
export async function startMoto({ bucket, objects, demo = false }) {
  if (!existsSync(path.join(VENV, "moto_server"))) {
    throw new Error("moto is not installed: run scripts/setup.sh (make test does)");
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(path.join(VENV, "moto_server"), ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const close = () => proc.kill();
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/moto-api/`)).status < 500) break;
    } catch {}
    if (i > 150 || proc.exitCode !== null) {
      close();
      throw new Error(`moto did not start:\n${log}`);
    }
    await sleep(100);
  }
  const args = demo ? [path.join(ROOT, "scripts/dev_bucket.py"), "seed", url] : [path.join(ROOT, "tests/e2e/s3/moto_setup.py"), url];
  const credentials = await new Promise((resolve, reject) => {
    const child = execFile(
      path.join(VENV, "python"),
      args,
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    );
    child.stdin.end(demo ? "" : JSON.stringify({ bucket, objects }));
  });
  return { url, port, credentials, close };
}

/** The `make dev` config: `config` with the demo bucket's origin and route (scripts/dev_bucket.py config). */
export function demoBucketConfig(config, bucketUrl) {
  const out = execFileSync(path.join(VENV, "python"), [path.join(ROOT, "scripts/dev_bucket.py"), "config", bucketUrl], {
    input: JSON.stringify(config),
  });
  return JSON.parse(out.toString());
}
