// The purge writer's storage I/O (src/glue/js/writer.js) on its own, against a
// stand-in for Durable Object storage that refuses what production refuses
// (more than 128 keys per get/put/delete).
import { expect, test } from "vitest";
import {
  STORAGE_BATCH,
  edgecache_log_append,
  edgecache_log_entries,
  edgecache_log_index,
  edgecache_writer_forget,
  edgecache_writer_load,
  edgecache_writer_load_some,
  edgecache_writer_schedule,
  edgecache_writer_store,
  edgecache_zone_load,
  edgecache_zone_store,
} from "../../src/glue/js/writer.js";

function storage() {
  const m = new Map();
  let alarm = null;
  const check = (n) => {
    if (n > 128) throw new Error(`${n} keys: at most 128 per call`);
  };
  return {
    m,
    calls: 0,
    async list({ prefix }) {
      return new Map([...m].filter(([k]) => k.startsWith(prefix)).sort());
    },
    async get(keys) {
      // Durable Object storage: one key (a string) or an array of them.
      if (typeof keys === "string") return m.get(keys);
      if (!Array.isArray(keys)) throw new Error(`get(${typeof keys}): a key or an array of keys`);
      check(keys.length);
      this.calls++;
      return new Map(keys.filter((k) => m.has(k)).map((k) => [k, m.get(k)]));
    },
    async put(entries) {
      check(Object.keys(entries).length);
      this.calls++;
      for (const [k, v] of Object.entries(entries)) m.set(k, structuredClone(v));
    },
    async delete(keys) {
      if (!Array.isArray(keys)) throw new Error("delete: an array of keys");
      check(keys.length);
      this.calls++;
      for (const k of keys) m.delete(k);
    },
    async getAlarm() {
      return alarm;
    },
    async setAlarm(at) {
      alarm = at;
    },
  };
}

const slot = (p) => ({ p, s: 1, n: 2 });

test("stores, loads and forgets 300 slots in batches the storage API takes", async () => {
  const st = storage();
  const slots = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`gen:${i}`, slot(i)]));
  await edgecache_writer_store(st, JSON.stringify(slots));
  expect(st.calls).toBe(Math.ceil(300 / STORAGE_BATCH));
  st.m.set("other", 1);
  expect(JSON.parse(await edgecache_writer_load(st))).toEqual(slots);
  const some = JSON.parse(await edgecache_writer_load_some(st, Object.keys(slots).slice(0, 200).concat(["gen:none"])));
  expect(Object.keys(some).length).toBe(200);
  expect(some["gen:5"]).toEqual(slot(5));
  await edgecache_writer_forget(st, Object.keys(slots));
  expect([...st.m.keys()]).toEqual(["other"]);
});

test("the alarm is moved earlier, never later", async () => {
  const st = storage();
  await edgecache_writer_schedule(st, 5000);
  expect(await st.getAlarm()).toBe(5000);
  await edgecache_writer_schedule(st, 9000);
  expect(await st.getAlarm()).toBe(5000);
  await edgecache_writer_schedule(st, 1000);
  expect(await st.getAlarm()).toBe(1000);
});

test("the purge log: entries appended, read back in order, dropped ones deleted (sequence numbers arrive as a Float64Array from Wasm)", async () => {
  const st = storage();
  expect(await edgecache_log_index(st)).toBe(null);
  for (let seq = 1; seq <= 3; seq++) {
    const entry = JSON.stringify({ seq, at: seq, nonce: seq, names: [`tag:${seq}`] });
    await edgecache_log_append(st, `{"head":${seq}}`, seq, entry, new Float64Array(seq === 3 ? [1] : []));
  }
  expect(await edgecache_log_index(st)).toBe('{"head":3}');
  const read = JSON.parse(await edgecache_log_entries(st, new Float64Array([1, 2, 3])));
  expect(read.map((e) => e.seq)).toEqual([2, 3]);
  const many = new Float64Array(Array.from({ length: 300 }, (_, i) => i + 1));
  expect(JSON.parse(await edgecache_log_entries(st, many)).length).toBe(2);
});

test("the zone queue is one value, null until stored, apart from the slots", async () => {
  const st = storage();
  expect(await edgecache_zone_load(st)).toBe(null);
  const q = JSON.stringify({ endpoint: "https://api.test/zones/z/purge_cache", jobs: [] });
  await edgecache_zone_store(st, q);
  expect(await edgecache_zone_load(st)).toBe(q);
  expect(JSON.parse(await edgecache_writer_load(st))).toEqual({});
});
