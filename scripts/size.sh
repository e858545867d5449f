#!/usr/bin/env bash
# `make size`: where the Worker's Wasm goes, by crate and by function.
# Builds the release Wasm with its function names kept (target/size, apart from
# the shipped build), runs wasm-bindgen and wasm-opt as the build does, and
# prints twiggy's breakdown (benches/size.py) and the size the shipped build
# would have without names. Needs `twiggy` (cargo install --locked twiggy).
# Results in target/size/. Reports only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
OUT=target/size/out
mkdir -p "$OUT"
command -v twiggy >/dev/null || { echo "size: twiggy missing: cargo install --locked twiggy" >&2; exit 1; }
CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=target/size \
  cargo build --quiet --release --target wasm32-unknown-unknown --lib
"$WASM_BINDGEN_BIN" --target module --out-dir "$OUT" --out-name index \
  target/size/wasm32-unknown-unknown/release/edgecache.wasm
FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
# As the build: -Oz --converge (Cargo.toml); once keeping names, once without.
"$WASM_OPT_BIN" -Oz --converge --debuginfo --strip-dwarf "${FEATURES[@]}" "$OUT/index_bg.wasm" -o "$OUT/named.wasm"
"$WASM_OPT_BIN" -Oz --converge --strip-debug "${FEATURES[@]}" "$OUT/index_bg.wasm" -o "$OUT/stripped.wasm"
twiggy top -n 1000000 --format csv "$OUT/named.wasm" > "$OUT/top.csv"
python3 benches/size.py "$OUT/top.csv" "$OUT/size.json"
printf '\nwithout names (as shipped): %s bytes raw, %s gzip -9\n' \
  "$(wc -c < "$OUT/stripped.wasm")" "$(gzip -9c "$OUT/stripped.wasm" | wc -c)"
