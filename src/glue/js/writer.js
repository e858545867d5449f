// The purge writer's I/O (src/glue/writer.rs): its Durable Object storage and
// the hand-off to it. Slots cross to Rust as JSON text, so the Wasm binds no
// storage options or maps; Rust decides everything (crate::purge::writer).

/** Storage keys of slots: this prefix and the KV key. */
const PREFIX = "s:";
/** Most keys one get/put/delete of Durable Object storage takes. */
export const STORAGE_BATCH = 128;

function slotsJson(map) {
  const out = {};
  for (const [k, v] of map) if (k.startsWith(PREFIX)) out[k.slice(PREFIX.length)] = v;
  return JSON.stringify(out);
}

/** Every slot held: JSON text of `{kvKey: slot}`. */
export async function edgecache_writer_load(storage) {
  return slotsJson(await storage.list({ prefix: PREFIX }));
}

/** The slots of `keys` (KV keys) that exist, as above. */
export async function edgecache_writer_load_some(storage, keys) {
  const map = new Map();
  for (let i = 0; i < keys.length; i += STORAGE_BATCH) {
    const got = await storage.get(keys.slice(i, i + STORAGE_BATCH).map((k) => PREFIX + k));
    for (const [k, v] of got) map.set(k, v);
  }
  return slotsJson(map);
}

/** Stores `json` (`{kvKey: slot}`), in batches the storage API takes. */
export async function edgecache_writer_store(storage, json) {
  const entries = Object.entries(JSON.parse(json));
  for (let i = 0; i < entries.length; i += STORAGE_BATCH) {
    const batch = {};
    for (const [k, v] of entries.slice(i, i + STORAGE_BATCH)) batch[PREFIX + k] = v;
    await storage.put(batch);
  }
}

/** Deletes the slots of `keys`. */
export async function edgecache_writer_forget(storage, keys) {
  for (let i = 0; i < keys.length; i += STORAGE_BATCH) {
    await storage.delete(keys.slice(i, i + STORAGE_BATCH).map((k) => PREFIX + k));
  }
}

/** Sets the alarm to `at` (Unix ms) unless one is already set no later. */
export async function edgecache_writer_schedule(storage, at) {
  const current = await storage.getAlarm();
  if (current === null || current === undefined || current > at) await storage.setAlarm(at);
}

/** The fast path's log (crate::purge::log): its index, and one key per entry. */
const LOG_INDEX = "log:index";
const LOG_ENTRY = "l:";

/** The log's index as JSON text, or null when the writer has none yet. */
export async function edgecache_log_index(storage) {
  const v = await storage.get(LOG_INDEX);
  return v === undefined ? null : v;
}

/**
 * Stores a new log entry (`entryJson`, sequence number `seq`) and the new
 * index, and deletes the entries `drop` (sequence numbers) names.
 */
export async function edgecache_log_append(storage, indexJson, seq, entryJson, dropped) {
  // From Wasm a Vec<f64> is a Float64Array, whose `map` makes numbers: a plain array.
  const drop = Array.from(dropped);
  await storage.put({ [LOG_INDEX]: indexJson, [LOG_ENTRY + seq]: entryJson });
  for (let i = 0; i < drop.length; i += STORAGE_BATCH) {
    await storage.delete(drop.slice(i, i + STORAGE_BATCH).map((s) => LOG_ENTRY + s));
  }
}

/** The entries `seqs` names that exist, oldest first: a JSON array text. */
export async function edgecache_log_entries(storage, wanted) {
  const seqs = Array.from(wanted);
  const out = [];
  for (let i = 0; i < seqs.length; i += STORAGE_BATCH) {
    const got = await storage.get(seqs.slice(i, i + STORAGE_BATCH).map((s) => LOG_ENTRY + s));
    for (const s of seqs.slice(i, i + STORAGE_BATCH)) {
      const v = got.get(LOG_ENTRY + s);
      if (v !== undefined) out.push(v);
    }
  }
  return "[" + out.join(",") + "]";
}

/** The zone purge queue (crate::purge::zone_queue): one JSON value. */
const ZONE_QUEUE = "zone:queue";

/** The zone queue as JSON text, or null when none is stored. */
export async function edgecache_zone_load(storage) {
  const v = await storage.get(ZONE_QUEUE);
  return v === undefined ? null : v;
}

/** Stores the zone queue (`json`, JSON text). */
export async function edgecache_zone_store(storage, json) {
  await storage.put({ [ZONE_QUEUE]: json });
}

/**
 * Receipts (replay detection) in the writer's SQLite storage: one row per
 * webhook id hash, kept until `until` (Unix ms); expired rows are deleted
 * whenever a receipt is stored.
 */
function receipts(storage) {
  storage.sql.exec(
    "CREATE TABLE IF NOT EXISTS receipts (key TEXT PRIMARY KEY, until INTEGER NOT NULL, body TEXT NOT NULL)",
  );
  storage.sql.exec("CREATE INDEX IF NOT EXISTS receipts_until ON receipts (until)");
  return storage.sql;
}

/** The receipt stored under `key` and not expired at `now`, or null. */
export function edgecache_receipt_get(storage, key, now) {
  const rows = receipts(storage).exec("SELECT body FROM receipts WHERE key = ? AND until > ?", key, now).toArray();
  return rows.length > 0 ? rows[0].body : null;
}

/** Stores `body` under `key` until `until`; drops receipts expired at `now`. */
export function edgecache_receipt_put(storage, key, until, body, now) {
  const sql = receipts(storage);
  sql.exec("DELETE FROM receipts WHERE until <= ?", now);
  sql.exec("INSERT OR REPLACE INTO receipts (key, until, body) VALUES (?, ?, ?)", key, until, body);
}

/**
 * Reads the log of the last `windowMs` from the writer named `name`:
 * resolves its JSON text, or rejects (the writer unreachable, or no 200).
 */
export async function edgecache_read_log(ns, name, windowMs) {
  const stub = ns.get(ns.idFromName(name));
  const r = await stub.fetch(`https://writer/log?window_ms=${windowMs}`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`purge writer answered ${r.status}`);
  return text;
}

/**
 * Hands `body` (a JSON hand-off) to the writer named `name` in namespace
 * `ns`; resolves [status, body text] (200 once stored).
 */
export async function edgecache_hand_off(ns, name, body) {
  const stub = ns.get(ns.idFromName(name));
  const r = await stub.fetch("https://writer/handoff", { method: "POST", body });
  return [r.status, await r.text()];
}

// One namespace object for the Wasm's imports (see the end of body.js).
export const edgecache_writer = {
  edgecache_writer_load,
  edgecache_writer_load_some,
  edgecache_writer_store,
  edgecache_writer_forget,
  edgecache_writer_schedule,
  edgecache_hand_off,
  edgecache_log_index,
  edgecache_log_append,
  edgecache_log_entries,
  edgecache_read_log,
  edgecache_receipt_get,
  edgecache_receipt_put,
  edgecache_zone_load,
  edgecache_zone_store,
};
