// Origin body bytes when entries expire: with revalidation (the origin answers
// the worker's If-None-Match with 304) against without (an origin that ignores
// it and sends the whole body again). K list URLs with a ~10 KB JSON body and
// an ETag, a 1 s route TTL, R rounds of reading every key `--after` seconds
// after the last read (1.3 s: just expired; 3 s, the short-TTL case: past
// twice the TTL, when before the route `keep` the copy was already gone).
// Counts the body bytes the origin sent after the first fill.
//
// `--keep 1s` sets the route's keep to the TTL, which reproduces the rule
// before it (an entry with a validator kept for twice its TTL).
//
//   node benches/revalidation.mjs [--keys 20] [--rounds 3] [--after 1.3] [--keep D] [--json FILE]
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { sleep, startOrigin, startWorker } from "../tests/e2e/harness.mjs";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    after: { type: "string", default: "1.3" },
    keep: { type: "string" },
    json: { type: "string" },
  },
});
const AFTER = Math.min(Math.max(Number(values.after), 1.1), 60);
const KEYS = Math.min(Number(values.keys), 200);
const ROUNDS = Math.min(Number(values.rounds), 20);
const item = (i) => ({ id: i, title: `Course ${i}`, summary: "x".repeat(90) });
const bodyOf = (url) => JSON.stringify({ url, results: Array.from({ length: 80 }, (_, i) => item(i)) });

async function measure(honours) {
  let bytes = 0;
  const origin = await startOrigin(async (req) => {
    const body = bodyOf(new URL(req.url, "http://o").search);
    const etag = `"v1-${body.length}"`;
    const headers = { "content-type": "application/json", "cache-control": "max-age=1", etag };
    if (honours && req.headers["if-none-match"] === etag) return { status: 304, headers, body: "" };
    bytes += Buffer.byteLength(body);
    return { status: 200, headers, body };
  });
  const worker = await startWorker(
    {
      origin: origin.url,
      routes: [
        { name: "list", path: "/api/courses/", ttl: "1s", query: { allow: ["page"] }, ...(values.keep && { keep: values.keep }) },
      ],
    },
    { quiet: true },
  );
  const url = (k) => `https://api.example.com/api/courses/?page=${k + 1}`;
  for (let k = 0; k < KEYS; k++) await (await worker.fetch(url(k))).text();
  bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    await sleep(AFTER * 1000);
    for (let k = 0; k < KEYS; k++) await (await worker.fetch(url(k))).text();
  }
  await worker.dispose();
  await origin.close();
  return bytes;
}

const without = await measure(false);
const withReval = await measure(true);
const result = {
  keys: KEYS,
  rounds: ROUNDS,
  after_s: AFTER,
  keep: values.keep ?? "default",
  bytes_with: withReval,
  bytes_without: without,
  ratio: withReval / without,
};
console.log(`revalidation: ${KEYS} keys, ${ROUNDS} rounds, each ${AFTER} s after the last (1 s TTL)`);
console.log(`origin_body_bytes with=${withReval} without=${without} ratio=${result.ratio.toFixed(3)}`);
if (values.json) writeFileSync(values.json, JSON.stringify(result) + "\n");
