#!/usr/bin/env bash
# Builds the worker to build/index.js + build/index_bg.wasm with local tools only.
# Every build path runs this (make build/test/dev/loadtest, wrangler's [build]
# command). It checks the config first, every time (scripts/check-config.sh: an
# invalid wrangler.toml never reaches worker-build, `wrangler deploy` or
# `wrangler dev`), and before a build stops if a tool is missing or the wrong
# version (scripts/check-tools.sh).
#
# Skips the build when nothing it depends on changed: the stamp
# (target/build-worker.stamp) records a hash of the inputs (src/**, crates/**, build.rs, Cargo.toml,
# Cargo.lock, package-lock.json (esbuild, binaryen), this script and env.sh,
# rustc's, worker-build's and wasm-bindgen's versions and the build's
# environment variables) and the hashes of the two outputs. Both
# must match, so an edited source file, a new tool or an output overwritten by
# another build (bench.sh runs worker-build itself) always rebuilds.
# `wrangler dev` runs this twice at start (wrangler 4.85 re-runs the [build]
# command when its file watcher is ready), and then on every change under src/.
#
# Quiet unless something is wrong: the build's output goes to
# target/build-worker.log; a failure prints it whole, a warning prints the
# warning. EDGECACHE_BUILD_VERBOSE=1 streams everything.
# EDGECACHE_BUILD_FORCE=1 rebuilds even when the stamp matches.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

STAMP=target/build-worker.stamp
LOG=target/build-worker.log
OUTPUTS=(build/index.js build/index_bg.wasm)
mkdir -p target
bash scripts/check-config.sh

inputs_hash() {
  {
    # crates/: path dependencies patched in (crates/idna_adapter).
    find src $(test -d crates && echo crates) -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock build.rs package-lock.json scripts/build-worker.sh scripts/env.sh
    rustc -vV
    worker-build --version
    "$WASM_BINDGEN_BIN" --version
    # Variables cargo, rustc and worker-build read (CARGO_PROFILE_RELEASE_STRIP=...).
    env | grep -E '^(CARGO_|RUSTFLAGS|RUSTC|NO_MINIFY|COREDUMP|CUSTOM_SHIM|RUN_TO_COMPLETION)' | sort || true
  } 2>&1 | sha256sum | cut -d' ' -f1
}

outputs_hash() {
  sha256sum "${OUTPUTS[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1
}

want="$(inputs_hash)"
if [ "${EDGECACHE_BUILD_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] &&
  [ "$(cat "$STAMP")" = "$want $(outputs_hash)" ]; then
  echo "build: up to date (build/, no input changed since the last build)"
  exit 0
fi

rm -f "$STAMP"
bash scripts/check-tools.sh >/dev/null # its problems go to stderr
start=$SECONDS
if [ "${EDGECACHE_BUILD_VERBOSE:-0}" = 1 ]; then
  worker-build --release 2>&1 | tee "$LOG"
  rc=${PIPESTATUS[0]}
else
  echo "build: compiling the worker to Wasm (log: $LOG; a first build takes minutes)"
  rc=0
  worker-build --release >"$LOG" 2>&1 || rc=$?
fi
if [ "$rc" -ne 0 ]; then
  [ "${EDGECACHE_BUILD_VERBOSE:-0}" = 1 ] || cat "$LOG"
  echo "build: FAILED (worker-build exit $rc; log: $LOG)" >&2
  exit "$rc"
fi
# Warnings are something wrong too: show each with the lines that follow it
# (cargo's and esbuild's explanations), without the progress chatter.
if [ "${EDGECACHE_BUILD_VERBOSE:-0}" != 1 ] && grep -qiE '^(warning|.*\[WARNING\])' "$LOG"; then
  grep -viE '^\s*(Compiling|Finished|\[INFO\])' "$LOG" | grep -v '^\s*$' >&2 || true
fi
echo "$want $(outputs_hash)" >"$STAMP"
size="$(gzip -9c build/index_bg.wasm 2>/dev/null | wc -c)" || true
echo "build: done in $((SECONDS - start)) s: build/index_bg.wasm ${size:-?} bytes gzip"
