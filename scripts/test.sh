#!/usr/bin/env bash
# Runs every test: setup, fmt, clippy (native and wasm32), native cargo tests,
# the build-tool check's test, the wasm build, the Django origin's tests, the
# edgecache-django package's tests (wheel in a fresh venv) and one
# vitest run: the glue's JavaScript unit tests and the end-to-end suite (the built
# worker in workerd via Miniflare, real origins on loopback).
# Ends with one summary line: "summary: N passed, N failed".
#
#   scripts/test.sh           everything (make test, CI)
#   scripts/test.sh --quick   fmt, clippy and native cargo test only: no npm or
#                             Django setup, no wasm build (make quick)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
quick=false
if [ "${1:-}" = --quick ]; then quick=true; fi
mkdir -p target/test-logs
LOGS=target/test-logs
passed=0
failed=0
failed_stages=()

stage() { printf '\n\033[1m==> %s\033[0m\n' "$1"; }
gate() { # gate NAME CMD...: a check that is not a test count; a failure counts once
  local name=$1; shift
  stage "$name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_stages+=("$name"); return 1; fi
}
summary() {
  echo
  if [ "$failed" -gt 0 ]; then echo "failed: ${failed_stages[*]}"; fi
  echo "summary: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

stage "setup"
if $quick; then bash scripts/setup.sh rust; else bash scripts/setup.sh; fi ||
  { echo "setup failed"; echo "summary: 0 passed, 1 failed"; exit 1; }

gate "cargo fmt --check" cargo fmt --check
gate "cargo clippy (native)" cargo clippy --all-targets -- -D warnings
gate "cargo clippy (wasm32 glue)" cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings

stage "cargo test"
cargo test 2>&1 | tee "$LOGS/cargo.log"
cargo_rc=${PIPESTATUS[0]}
read -r cp cf < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }' "$LOGS/cargo.log")
passed=$((passed + cp)); failed=$((failed + cf))
if [ "$cargo_rc" -ne 0 ] && [ "$cf" -eq 0 ]; then failed=$((failed + 1)); failed_stages+=("cargo test (build)"); fi
[ "$cf" -gt 0 ] && failed_stages+=("cargo test")

if $quick; then summary; exit $?; fi

gate "tool check fails loudly (tests/scripts/tool_check.sh)" bash tests/scripts/tool_check.sh
gate "config check before builds (tests/scripts/config_check.sh)" bash tests/scripts/config_check.sh
built=false
gate "wasm build (worker-build --release)" bash scripts/build-worker.sh && built=true

# Counts of a Django test runner's log: "Ran N tests" and "FAILED (failures=.., errors=..)".
# A non-zero exit with no failure counted (an import error, a setup step) is one failure.
django_counts() { # django_counts NAME LOG RC
  local name=$1 log=$2 rc=$3 ran bad
  ran=$(awk '/^Ran [0-9]+ tests?/ { n = $2 } END { print n+0 }' "$log")
  bad=$(awk '/^FAILED \(/ { s = $0; gsub(/[^0-9 ]/, " ", s); split(s, a, " "); for (i in a) t += a[i] } END { print t+0 }' "$log")
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  passed=$((passed + ran - (bad > ran ? ran : bad))); failed=$((failed + bad))
  [ "$bad" -gt 0 ] && failed_stages+=("$name")
  return 0
}

stage "Django origin tests"
bash examples/django/test.sh 2>&1 | tee "$LOGS/django.log"
django_counts "django tests" "$LOGS/django.log" "${PIPESTATUS[0]}"

stage "edgecache-django package: wheel, fresh venv, its tests"
bash integrations/django/test.sh 2>&1 | tee "$LOGS/edgecache-django.log"
django_counts "edgecache-django tests" "$LOGS/edgecache-django.log" "${PIPESTATUS[0]}"

stage "vitest: JavaScript unit tests and end-to-end (Miniflare/workerd)"
rm -f "$LOGS/vitest.json"
run_vitest() { npx vitest run "$@" --reporter=default --reporter=json --outputFile="$LOGS/vitest.json"; }
if $built; then
  run_vitest
  vt_rc=$?
else
  # An older bundle in build/ must not stand in for the one that failed, and every
  # end-to-end file failing for want of build/index.js would bury the reason: run
  # the unit tests only, and count the end-to-end suite as one failure.
  echo "end-to-end skipped: the wasm build failed (its reason is above); unit tests only"
  failed=$((failed + 1)); failed_stages+=("end-to-end (skipped: no build)")
  run_vitest tests/unit
  vt_rc=$?
fi
if [ -f "$LOGS/vitest.json" ]; then
  read -r vp vf < <(node -e 'const r=require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites||0))' "$ROOT/$LOGS/vitest.json")
else
  vp=0; vf=1
fi
if [ "$vt_rc" -ne 0 ] && [ "$vf" -eq 0 ]; then vf=1; fi
passed=$((passed + vp)); failed=$((failed + vf))
[ "$vf" -gt 0 ] && failed_stages+=("vitest")

summary
