#!/usr/bin/env bash
# `make bench`: measures edgecache against its baselines in one run and rewrites
# the results section of BENCHMARKS.md and benches/chart.svg. Reports only.
# Heavy steps run one at a time (sized for 2 cores). Results in target/bench/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
OUT=target/bench
mkdir -p "$OUT"
step() { printf '\n\033[1m==> %s\033[0m\n' "$1"; }

step "machine"
python3 - > "$OUT/machine.json" <<'PY'
import json, os, platform, datetime
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print(json.dumps({"cores": os.cpu_count(), "cpu": cpu, "os": f"{platform.system()} {platform.release()}",
                  "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}))
PY
cat "$OUT/machine.json"

step "wasm builds: edgecache and the workers-rs floor (same worker-build, wasm-opt, profile)"
bash scripts/check-tools.sh
worker-build --release >"$OUT/build-edgecache.log" 2>&1
(cd benches/floor-worker && CARGO_TARGET_DIR="$ROOT/target" worker-build --release) >"$OUT/build-floor.log" 2>&1
size() { printf '{"raw": %d, "gzip": %d}' "$(wc -c <"$1")" "$(gzip -9c "$1" | wc -c)"; }
printf '{"edgecache": %s, "floor": %s}\n' "$(size build/index_bg.wasm)" \
  "$(size benches/floor-worker/build/index_bg.wasm)" > "$OUT/sizes.json"
cat "$OUT/sizes.json"

step "traffic (seeded) and hit ratio"
python3 benches/traffic.py --seed 1 --requests 200000 --out "$OUT/traffic.log"
cargo build --quiet --release --bin edgecache
./target/release/edgecache simulate --config wrangler.toml "$OUT/traffic.log" | tee "$OUT/simulate.txt"
./target/release/edgecache simulate --config wrangler.toml --json "$OUT/traffic.log" > "$OUT/simulate.json"

step "key normalization, native"
cargo bench --quiet --bench keys -- "$OUT/traffic.log" wrangler.toml | tail -1 | tee "$OUT/keys.json"

step "config parse, native (once per isolate, on its first request)"
cargo bench --quiet --bench config -- wrangler.toml | tail -1 | tee "$OUT/config-parse.json"

step "end to end in workerd (hit path, miss path, cold start)"
python3 -c 'import tomllib, json; print(json.dumps(tomllib.load(open("wrangler.toml", "rb"))["vars"]["EDGECACHE"]))' \
  > "$OUT/config.json"
node benches/load.mjs "$OUT/config.json" "$OUT/load.json" > "$OUT/load.log"

step "origin protection: origin requests per purge under load; body bytes on expiry with and without revalidation"
node tests/load/purge-stampede.mjs --seconds 10 --json "$OUT/stampede.json" | tail -1
node benches/revalidation.mjs --json "$OUT/revalidation.json" | tail -1
node benches/revalidation.mjs --after 3 --json "$OUT/revalidation-short.json" | tail -1

step "report"
python3 benches/report.py "$OUT"
echo
echo "wrote BENCHMARKS.md and benches/chart.svg (raw results in $OUT/)"
