// The docs' examples that need a running stack, run against one: the built worker
// in front of the demo origin (Django + DRF), as `make dev` runs them.
//
// - Every `curl` line of a `sh` block in README.md and docs/*.md (blocks marked
//   `<!-- not-tested: reason -->` skipped) is run with bash, in document order, with
//   `127.0.0.1:8787` (the worker under `make dev`) and `127.0.0.1:8000` (the origin)
//   pointed at this test's. A trailing `# comment` is the expected output: one line
//   of it must equal the comment, or be `<header>: <comment>` (curl -i); `...`
//   stands for any text. A line expecting a Cache-Status is retried briefly, since
//   the cache copy and Django's purge webhook land just after the answer.
// - The example config of docs/config.md, validated by `edgecache check --json`,
//   in front of the same origin: a list and a detail URL miss, then hit.
//
// tests/native/docs_examples.rs runs the rest (configs, `edgecache check|explain`, keys).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cacheStatus, checkedVar, freePort, SECRETS, sleep, startDemoOrigin, startWorker, tempDir, untilHit } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DEV_WORKER = "127.0.0.1:8787";
const DEV_ORIGIN = "127.0.0.1:8000";

/** Fenced blocks of one markdown file: {place, lang, lines, notTested}. */
function fencedBlocks(file) {
  const lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].trimStart().match(/^```(.*)$/);
    if (!open) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !lines[i].trimStart().startsWith("```"); i++) body.push(lines[i]);
    let j = start - 1;
    while (j >= 0 && lines[j].trim() === "") j--;
    const marker = j >= 0 ? lines[j].trim().match(/^<!-- not-tested:(.*)-->$/) : null;
    out.push({ place: `${file}:${start + 1}`, lang: open[1].trim(), lines: body, notTested: marker?.[1].trim() });
  }
  return out;
}

/** Command lines (continuations joined), each split into {cmd, expected}. */
function commands(lines) {
  const out = [];
  let cur = "";
  for (const raw of lines) {
    const t = raw.trim();
    if (!cur && (!t || t.startsWith("#"))) continue;
    if (t.endsWith("\\")) {
      cur += t.slice(0, -1);
      continue;
    }
    cur += t;
    out.push(splitComment(cur));
    cur = "";
  }
  return out;
}

/** `cmd   # expected`: the first ` #` outside quotes starts the expected output. */
function splitComment(line) {
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && line[i - 1] === " ") return { cmd: line.slice(0, i).trim(), expected: line.slice(i + 1).trim() };
  }
  return { cmd: line.trim(), expected: null };
}

const DOC_FILES = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const SH = new Set(["sh", "bash", "shell", "console"]);
const ALL_SH = DOC_FILES.flatMap(fencedBlocks).filter((b) => SH.has(b.lang));
const SKIPPED = ALL_SH.filter((b) => b.notTested && commands(b.lines).some((c) => c.cmd.startsWith("curl ")));
const CURL_BLOCKS = ALL_SH.filter((b) => !b.notTested)
  .map((b) => ({ ...b, cmds: commands(b.lines).filter((c) => c.cmd.startsWith("curl ")) }))
  .filter((b) => b.cmds.length > 0);

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** Does one line of `output` show `expected` (`...` = any text)? */
function shows(output, expected) {
  const pattern = expected.split("...").map(escape).join(".*");
  const re = new RegExp(`^(?:[A-Za-z0-9-]+: )?${pattern}$`);
  return output.split("\n").some((l) => re.test(l.replace(/\r$/, "").trim()));
}

let django, dir, originUrl, worker;

beforeAll(async () => {
  // Not setup.sh here: django.test.mjs runs it, and two at once would race on the DB.
  dir = tempDir("edgecache-docs-");
  const port = await freePort();
  originUrl = `http://127.0.0.1:${port}`;
  // What `make dev` serves: the shipped wrangler.toml's [env.dev] (`wrangler dev --env dev`:
  // the top-level config with debug on), in front of the demo origin.
  worker = await startWorker({ ...checkedVar("wrangler.toml", "dev"), origin: originUrl }, { listen: true, quiet: true });
  // As `make dev`: purges are sent from Django's background thread (no EDGECACHE_PURGE_SYNC).
  django = await startDemoOrigin({
    port,
    env: {
      EDGECACHE_PURGE_URL: `${worker.url}/__edgecache/purge`,
      EDGECACHE_PURGE_SECRET: SECRETS.EDGECACHE_WEBHOOK_SECRET,
    },
  });
  console.log(`docs curl examples: ${CURL_BLOCKS.reduce((n, b) => n + b.cmds.length, 0)} lines in ${CURL_BLOCKS.length} blocks run, ${SKIPPED.length} blocks with curl skipped`);
}, 120_000);

afterAll(async () => {
  django?.kill();
  await worker?.dispose();
  dir?.remove();
});

test("the docs have curl examples to run (the extraction finds them)", () => {
  expect(CURL_BLOCKS.length).toBeGreaterThanOrEqual(2);
  const expectations = CURL_BLOCKS.flatMap((b) => b.cmds.map((c) => c.expected ?? ""));
  expect(expectations.some((e) => /fwd=miss/.test(e))).toBe(true);
  expect(expectations.some((e) => /; hit;/.test(e))).toBe(true);
});

for (const block of CURL_BLOCKS) {
  test(`${block.place}: the curl commands print what the doc says`, async () => {
    const workerHost = new URL(worker.url).host;
    const originHost = new URL(originUrl).host;
    for (const { cmd, expected } of block.cmds) {
      const local = cmd.replaceAll(DEV_WORKER, workerHost).replaceAll(DEV_ORIGIN, originHost);
      const run = () => {
        let out;
        try {
          out = execFileSync("bash", ["-c", local], { timeout: 10_000 }).toString();
        } catch (e) {
          out = `${e.stdout ?? ""}${e.stderr ?? ""}`; // grep finding nothing exits 1
        }
        return out.replaceAll(workerHost, DEV_WORKER).replaceAll(originHost, DEV_ORIGIN);
      };
      let out = run();
      if (expected === null) continue;
      // The copy is stored in wait_until, Django's purge comes from a thread, and for
      // purge.clock_skew (2 s) after a purge a new copy counts as purged: allow them
      // the moment a person typing the next command takes.
      const deadline = Date.now() + 5_000;
      while (!shows(out, expected) && /cache-status/i.test(cmd) && Date.now() < deadline) {
        await sleep(75);
        out = run();
      }
      expect(shows(out, expected), `${block.place}: ${cmd}\n  doc:    ${expected}\n  output: ${out.trim()}`).toBe(true);
    }
  });
}

test("the example config of docs/config.md caches the demo API: a miss, then a hit", async () => {
  const example = fencedBlocks("docs/config.md").find((b) => b.lines.some((l) => l.trim() === "[vars.EDGECACHE]"));
  expect(example, "docs/config.md has a [vars.EDGECACHE] example").toBeTruthy();
  const file = path.join(dir.dir, "config-example.toml");
  writeFileSync(file, example.lines.join("\n"));
  const config = checkedVar(file);
  expect(config.origin).toBe(`http://${DEV_ORIGIN}`);
  const w = await startWorker({ ...config, origin: originUrl }, { quiet: true });
  try {
    const get = async (p, headers = {}) => {
      const r = await w.fetch(`http://${DEV_WORKER}${p}`, { headers });
      const cs = cacheStatus(r);
      return { status: r.status, cs, hit: cs?.params.hit === true, body: await r.text() };
    };
    const alice = { authorization: `Token ${"a11ce".repeat(8)}` };
    for (const [p, headers] of [["/api/courses/", {}], ["/api/courses/?level=Beginner&utm_source=x", { accept: "application/json" }], ["/api/courses/3/", {}], ["/api/me/", alice]]) {
      const first = await get(p, headers);
      expect(first.status, p).toBe(200);
      expect(first.cs.params.fwd, `${p}: ${first.cs.raw}`).toBe("miss");
      expect(first.cs.params.ttl, `${p}: ${first.cs.raw}`).toBeDefined();
      const again = await untilHit(() => get(p, headers));
      expect(again.hit, `${p}: ${again.cs.raw}`).toBe(true);
      expect(again.body, p).toBe(first.body);
    }
  } finally {
    await w.dispose();
  }
});
