// `edgecache report --html`: the page opened in headless Chromium (Debian's
// package, installed by scripts/setup.sh), its charts laid out with a size and
// their lines drawn. A missing Chromium fails this test: it is never skipped.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import { tempDir } from "./harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = tempDir("edgecache-html-");
afterAll(() => dir.remove());

function chromium() {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${name}`]);
      return name;
    } catch {}
  }
  throw new Error("headless Chromium is missing: run `make setup` (scripts/setup.sh installs Debian's chromium)");
}

/** A minute of traffic on two routes, with a purge in the middle. */
function sampleLog() {
  const t0 = 1764500000000;
  const lines = [];
  for (let i = 0; i < 120; i++) {
    const route = i % 3 === 0 ? "course-detail" : "course-list";
    const miss = i % 5 === 0 || (i > 60 && i < 66);
    lines.push(JSON.stringify({
      edgecache: "request", v: 1, time: t0 + i * 500, route, method: "GET", status: 200,
      outcome: miss ? "miss" : "hit", tier: miss ? "origin" : i % 2 ? "memory" : "cache",
      key: `k${i % 7}`, origin_status: miss ? 200 : null, origin_ms: miss ? 20 + (i % 13) : null,
      edge_ms: 1, bytes: 900, detail: miss ? null : i % 2 ? "memory" : null,
    }));
    if (i === 60) {
      lines.push(JSON.stringify({
        edgecache: "purge", v: 1, time: t0 + i * 500 + 1, id: "msg_1", status: 200, tags: ["course_list"],
        urls: 0, prefixes: 0, everything: false, bumped: 1, deleted: 1, zone: "off", replayed: false,
      }));
    }
  }
  return lines.join("\n") + "\n";
}

test("the report page's SVG charts render in a browser", () => {
  const browser = chromium();
  const log = path.join(dir.dir, "edgecache.log");
  const page = path.join(dir.dir, "report.html");
  writeFileSync(log, sampleLog());
  execFileSync("cargo", ["run", "--quiet", "--bin", "edgecache", "--", "report", "--html", page, log], { cwd: ROOT });
  expect(readFileSync(page, "utf8")).toContain("<svg");
  const dom = execFileSync(
    browser,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=3000", "--dump-dom", `file://${page}`],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60000 },
  );
  const m = dom.match(/data-rendered="([^"]*)"/);
  expect(m, "the page's load handler ran").not.toBeNull();
  const rendered = JSON.parse(m[1].replaceAll("&quot;", '"'));
  const hit = rendered["hit-ratio"];
  expect(hit.width).toBeGreaterThan(100);
  expect(hit.height).toBeGreaterThan(100);
  expect(hit.series.length).toBe(2); // one line per route
  for (const [w, h] of hit.series) expect(w * h > 0 || w > 100).toBe(true);
  expect(hit.purges).toBe(1);
  const lat = rendered["origin-latency"];
  expect(lat.width).toBeGreaterThan(100);
  expect(lat.series.length).toBe(2); // p50 and p95
  for (const [w] of lat.series) expect(w).toBeGreaterThan(100);
  expect(lat.purges).toBe(1);
}, 120_000); // a browser start on a busy 2-core machine
