#!/usr/bin/env bash
# Checks that every tool the wasm build needs is here at its pinned version, before
# worker-build starts. worker-build uses the tool a {NAME}_BIN variable (scripts/env.sh)
# names, but when that file is missing it warns and downloads one from GitHub instead:
# offline that fails deep in the build, online it fetches a binary nobody pinned. So
# the build stops here, with one line per problem: the tool, where it was looked for,
# what was found, and the fix. Exit status 1 if anything is wrong.
#
# It runs before every build, so it only asks each tool its version (a few ms each;
# wasm-opt is compiled-to-JS binaryen, slow to start, so its package.json is read).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

problems=0
problem() { # problem TOOL WHERE-LOOKED WHAT-FOUND WHAT-IS-NEEDED
  printf 'check-tools: %s: %s: %s; need %s. Fix: make setup\n' "$@" >&2
  problems=$((problems + 1))
}

# found BIN: what `BIN --version` says (first line), or why it says nothing.
found() {
  local out
  if [ ! -e "$1" ]; then echo "not found"; return; fi
  if [ ! -x "$1" ]; then echo "found a file that is not executable"; return; fi
  if ! out="$("$1" --version 2>&1 </dev/null)"; then
    echo "found it, but \`--version\` failed: ${out%%$'\n'*}"
    return
  fi
  echo "found \"${out%%$'\n'*}\""
}

# wasm-bindgen: exactly the version in Cargo.lock (the CLI refuses any other).
want="$(wasm_bindgen_version)"
got="$(found "$WASM_BINDGEN_BIN")"
if [ "$got" != "found \"wasm-bindgen $want\"" ]; then
  problem wasm-bindgen "looked at $WASM_BINDGEN_BIN" "$got" "wasm-bindgen ${want:-?} (the wasm-bindgen in Cargo.lock)"
fi

# worker-build: whichever is first on PATH, as scripts/build-worker.sh runs it.
if wb="$(command -v worker-build)"; then
  got="$(found "$wb")"
  where="looked at $wb"
else
  got="not found"
  where="looked on PATH (first in $CARGO_BIN)"
fi
if [ "$got" != "found \"$WORKER_BUILD_VERSION\"" ]; then
  problem worker-build "$where" "$got" "$WORKER_BUILD_VERSION (WORKER_BUILD_VERSION in scripts/env.sh)"
fi

# esbuild: the npm package, pinned exactly in package.json.
want="$(npm_pin esbuild)"
got="$(found "$ESBUILD_BIN")"
if [ "$got" != "found \"$want\"" ]; then
  problem esbuild "looked at $ESBUILD_BIN" "$got" "${want:-?} (esbuild in package.json)"
fi

# wasm-opt: from the binaryen npm package, pinned exactly in package.json.
want="$(npm_pin binaryen)"
pkg="$ROOT/node_modules/binaryen/package.json"
if [ ! -x "$WASM_OPT_BIN" ]; then
  got="$(found "$WASM_OPT_BIN")"
elif [ ! -f "$pkg" ]; then
  got="found it, but not $pkg"
else
  got="found binaryen $(awk -F'"' '$2 == "version" { print $4; exit }' "$pkg")"
fi
if [ "$got" != "found binaryen $want" ]; then
  problem wasm-opt "looked at $WASM_OPT_BIN" "$got" "binaryen ${want:-?} (binaryen in package.json)"
fi

# The wasm32 standard library, for the toolchain cargo will use here.
if sysroot="$(rustc --print sysroot 2>/dev/null)"; then
  target_dir="$sysroot/lib/rustlib/wasm32-unknown-unknown"
  if [ ! -d "$target_dir" ]; then
    problem "wasm32-unknown-unknown target" "looked at $target_dir" "not found" "the target installed (rustup target add)"
  fi
else
  problem "wasm32-unknown-unknown target" "looked on PATH" "no rustc" "rustc from rustup"
fi

if [ "$problems" -gt 0 ]; then
  echo "check-tools: $problems problem(s); worker-build not started (it would try to download)." >&2
  exit 1
fi
echo "check-tools: ok: wasm-bindgen $(wasm_bindgen_version), worker-build $WORKER_BUILD_VERSION, esbuild $(npm_pin esbuild), binaryen $(npm_pin binaryen), wasm32-unknown-unknown target"
