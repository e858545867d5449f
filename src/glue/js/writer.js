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

/**
 * Hands `body` (a JSON hand-off) to the writer named `name` in namespace
 * `ns`; resolves its status (200 once stored).
 */
export async function edgecache_hand_off(ns, name, body) {
  const stub = ns.get(ns.idFromName(name));
  const r = await stub.fetch("https://writer/handoff", { method: "POST", body });
  await r.arrayBuffer();
  return r.status;
}

// One namespace object for the Wasm's imports (see the end of body.js).
export const edgecache_writer = {
  edgecache_writer_load,
  edgecache_writer_load_some,
  edgecache_writer_store,
  edgecache_writer_forget,
  edgecache_writer_schedule,
  edgecache_hand_off,
};
