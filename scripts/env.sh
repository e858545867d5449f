# Sourced by the other scripts: tool locations, so worker-build never downloads.
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# `cargo install` puts binaries in $CARGO_HOME/bin, which is not ~/.cargo/bin on
# every machine (the official Rust container images use /usr/local/cargo).
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$ROOT/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false
# worker-build looks for {NAME}_BIN before it tries to download from GitHub;
# scripts/check-tools.sh makes sure each one is there before it runs.
export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
# Versions pinned here; wasm-bindgen-cli must equal wasm-bindgen in Cargo.lock,
# esbuild and binaryen (wasm-opt) are pinned exactly in package.json.
WORKER_BUILD_VERSION="0.8.7"
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}
npm_pin() { # npm_pin PACKAGE: its version in package.json's devDependencies
  awk -v name="\"$1\":" '$1 == name { gsub(/[",]/, "", $2); print $2; exit }' "$ROOT/package.json"
}
