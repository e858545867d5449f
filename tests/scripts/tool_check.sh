#!/usr/bin/env bash
# Tests scripts/check-tools.sh (and its hook in scripts/build-worker.sh, and that
# script's build stamp) against fake
# tools in a temporary directory: every tool present at its pinned version passes;
# each tool missing or at another version gives one line naming the tool, the path,
# what was found and `make setup`, a non-zero exit, and no worker-build run.
#
# Hermetic: each case runs under `env -i` with HOME and CARGO_HOME in the temporary
# directory and a PATH holding only bash and a few file utilities, so the machine's own
# tools are never seen; `cargo` (the config check build-worker.sh runs first) is a fake
# that succeeds. Versions come from the real Cargo.lock, package.json and
# scripts/env.sh, so a pin change needs no edit here.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# The pins, read independently of scripts/env.sh's helpers.
WBV="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO/Cargo.lock")"
WORKER_BUILD_V="$(sed -n 's/^WORKER_BUILD_VERSION="\(.*\)"$/\1/p' "$REPO/scripts/env.sh")"
ESBUILD_V="$(sed -n 's/^ *"esbuild": *"\([^"]*\)".*/\1/p' "$REPO/package.json")"
BINARYEN_V="$(sed -n 's/^ *"binaryen": *"\([^"]*\)".*/\1/p' "$REPO/package.json")"

mkdir -p "$TMP/sysbin"
# build-worker.sh's stamp needs the file utilities; check-config.sh needs ps and tr.
for tool in bash awk dirname mkdir find sort xargs sha256sum cut grep env gzip wc cat rm tee ps tr; do
  ln -s "$(command -v "$tool")" "$TMP/sysbin/$tool"
done

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1: $2"; sed 's/^/    | /' "$CASE/out" "$CASE/err"; }

fake() { # fake PATH OUTPUT: an executable printing OUTPUT for --version
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\necho "%s"\n' "$2" >"$1"
  chmod +x "$1"
}

# new_case NAME: a fake checkout in $CASE with every tool present at its pin.
new_case() {
  CASE="$TMP/$1"
  mkdir -p "$CASE/scripts" "$CASE/home" "$CASE/sysroot/lib/rustlib/wasm32-unknown-unknown"
  cp "$REPO/scripts/env.sh" "$REPO/scripts/check-tools.sh" "$REPO/scripts/build-worker.sh" \
    "$REPO/scripts/check-config.sh" "$CASE/scripts/"
  cp "$REPO/Cargo.lock" "$REPO/package.json" "$CASE/"
  CARGO_BIN="$CASE/cargo-home/bin"
  fake "$CARGO_BIN/wasm-bindgen" "wasm-bindgen $WBV"
  fake "$CARGO_BIN/rustc" "$CASE/sysroot"
  fake "$CARGO_BIN/cargo" "edgecache check: ok (fake)"
  # worker-build: prints its version; any other call is a build, recorded in ran.
  mkdir -p "$CARGO_BIN"
  printf '#!/bin/sh\nif [ "$1" = --version ]; then echo "%s"; else echo "$@" >"%s"; fi\n' \
    "$WORKER_BUILD_V" "$CASE/ran" >"$CARGO_BIN/worker-build"
  chmod +x "$CARGO_BIN/worker-build"
  fake "$CASE/node_modules/.bin/esbuild" "$ESBUILD_V"
  fake "$CASE/node_modules/.bin/wasm-opt" "wasm-opt version ${BINARYEN_V%%.*}"
  binaryen_package "$BINARYEN_V"
}
binaryen_package() {
  mkdir -p "$CASE/node_modules/binaryen"
  printf '{\n  "name": "binaryen",\n  "description": "test fake",\n  "version": "%s",\n  "bin": {}\n}\n' \
    "$1" >"$CASE/node_modules/binaryen/package.json"
}

# run SCRIPT: runs the fake checkout's SCRIPT hermetically; status in $rc.
run() {
  env -i HOME="$CASE/home" CARGO_HOME="$CASE/cargo-home" PATH="$TMP/sysbin" \
    bash "$CASE/scripts/$1" >"$CASE/out" 2>"$CASE/err"
  rc=$?
}

# expect_problem NAME TOOL PATH FOUND: exactly one problem line, for TOOL at PATH
# saying FOUND and `make setup`; non-zero exit; worker-build never ran.
expect_problem() {
  local name=$1 tool=$2 path=$3 found=$4 lines line
  lines="$(grep -c '^check-tools: .*Fix: make setup$' "$CASE/err")"
  line="$(grep "^check-tools: $tool: " "$CASE/err")"
  if [ "$rc" -eq 0 ]; then not_ok "$name" "exit status 0"
  elif [ "$lines" -ne 1 ]; then not_ok "$name" "$lines problem lines, want 1"
  elif [[ "$line" != *"$path"* ]]; then not_ok "$name" "line does not name $path"
  elif [[ "$line" != *"$found"* ]]; then not_ok "$name" "line does not say $found"
  elif [ -e "$CASE/ran" ]; then not_ok "$name" "worker-build ran"
  else ok "$name"; fi
}

new_case present
run check-tools.sh
if [ "$rc" -eq 0 ] && [ ! -s "$CASE/err" ] && grep -q '^check-tools: ok' "$CASE/out"; then
  ok "every tool at its pin passes, found under CARGO_HOME rather than HOME"
else
  not_ok "every tool at its pin passes, found under CARGO_HOME rather than HOME" "rc=$rc"
fi

new_case default_home
mkdir -p "$CASE/home/.cargo"
mv "$CASE/cargo-home/bin" "$CASE/home/.cargo/bin"
env -i HOME="$CASE/home" PATH="$TMP/sysbin" bash "$CASE/scripts/check-tools.sh" >"$CASE/out" 2>"$CASE/err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "without CARGO_HOME, tools are found in ~/.cargo/bin"
else not_ok "without CARGO_HOME, tools are found in ~/.cargo/bin" "rc=$rc"; fi

new_case built
run build-worker.sh
if [ "$rc" -eq 0 ] && [ "$(cat "$CASE/ran" 2>/dev/null)" = "--release" ]; then
  ok "build-worker.sh runs worker-build --release once the check passes"
else
  not_ok "build-worker.sh runs worker-build --release once the check passes" "rc=$rc"
fi

new_case wasm_bindgen_missing
rm "$CARGO_BIN/wasm-bindgen"
run check-tools.sh
expect_problem "wasm-bindgen missing" wasm-bindgen "$CARGO_BIN/wasm-bindgen" "not found"

new_case wasm_bindgen_wrong
fake "$CARGO_BIN/wasm-bindgen" "wasm-bindgen 0.2.0"
run check-tools.sh
expect_problem "wasm-bindgen at another version" wasm-bindgen "$CARGO_BIN/wasm-bindgen" \
  "found \"wasm-bindgen 0.2.0\"; need wasm-bindgen $WBV"

new_case worker_build_missing
rm "$CARGO_BIN/worker-build"
run check-tools.sh
expect_problem "worker-build missing" worker-build "PATH (first in $CARGO_BIN)" "not found"

new_case worker_build_wrong
fake "$CARGO_BIN/worker-build" "0.1.0"
run check-tools.sh
expect_problem "worker-build at another version" worker-build "$CARGO_BIN/worker-build" \
  "found \"0.1.0\"; need $WORKER_BUILD_V"

new_case esbuild_missing
rm "$CASE/node_modules/.bin/esbuild"
run check-tools.sh
expect_problem "esbuild missing" esbuild "$CASE/node_modules/.bin/esbuild" "not found"

new_case esbuild_wrong
fake "$CASE/node_modules/.bin/esbuild" "0.1.0"
run check-tools.sh
expect_problem "esbuild at another version" esbuild "$CASE/node_modules/.bin/esbuild" \
  "found \"0.1.0\"; need $ESBUILD_V"

new_case wasm_opt_missing
rm "$CASE/node_modules/.bin/wasm-opt"
run check-tools.sh
expect_problem "wasm-opt missing" wasm-opt "$CASE/node_modules/.bin/wasm-opt" "not found"

new_case wasm_opt_wrong
binaryen_package "1.0.0"
run check-tools.sh
expect_problem "wasm-opt from another binaryen" wasm-opt "$CASE/node_modules/.bin/wasm-opt" \
  "found binaryen 1.0.0; need binaryen $BINARYEN_V"

new_case target_missing
rm -r "$CASE/sysroot/lib/rustlib/wasm32-unknown-unknown"
run check-tools.sh
expect_problem "wasm32 target missing" "wasm32-unknown-unknown target" \
  "$CASE/sysroot/lib/rustlib/wasm32-unknown-unknown" "not found"

new_case build_stops
rm "$CARGO_BIN/wasm-bindgen"
run build-worker.sh
expect_problem "build-worker.sh stops before worker-build when a tool is missing" \
  wasm-bindgen "$CARGO_BIN/wasm-bindgen" "not found"

new_case two_problems
rm "$CARGO_BIN/wasm-bindgen" "$CASE/node_modules/.bin/esbuild"
run check-tools.sh
n="$(grep -c 'Fix: make setup$' "$CASE/err")"
if [ "$rc" -ne 0 ] && [ "$n" -eq 2 ]; then ok "two problems, two lines"
else not_ok "two problems, two lines" "rc=$rc, $n lines"; fi

# The stamp: a second build with nothing changed is skipped; a changed source file,
# or an output another build overwrote, builds again (never a stale build/).
new_case stamp
mkdir -p "$CASE/src" "$CASE/build"
echo 'pub fn a() {}' >"$CASE/src/lib.rs"
run build-worker.sh
first=$rc; rm -f "$CASE/ran"
run build-worker.sh
if [ "$first" -eq 0 ] && [ "$rc" -eq 0 ] && [ ! -e "$CASE/ran" ] && grep -q '^build: up to date' "$CASE/out"; then
  ok "build-worker.sh skips the build when no input changed"
else
  not_ok "build-worker.sh skips the build when no input changed" "rc=$first/$rc"
fi
echo 'pub fn b() {}' >>"$CASE/src/lib.rs"
run build-worker.sh
if [ "$rc" -eq 0 ] && [ -e "$CASE/ran" ]; then ok "a changed source file builds again"
else not_ok "a changed source file builds again" "rc=$rc"; fi
rm -f "$CASE/ran"
echo 'other build' >"$CASE/build/index_bg.wasm"
run build-worker.sh
if [ "$rc" -eq 0 ] && [ -e "$CASE/ran" ]; then ok "an output written by another build builds again"
else not_ok "an output written by another build builds again" "rc=$rc"; fi

echo "tool_check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
