#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, cargo-fuzz) for SECONDS each (default 60), then
# prints one line per target: executions, coverage, corpus size and findings.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (make fuzz; FUZZ_SECONDS=300 make fuzz)
#
# Installs cargo-fuzz (pinned) and the nightly toolchain if missing; a second run
# finds both and goes straight to fuzzing. New corpus entries go to fuzz/work/
# (ignored); the committed seeds in fuzz/corpus/ are only read. Crashes land in
# fuzz/artifacts/<target>/; reproduce one with
#   cd fuzz && cargo +nightly fuzz run -s none <target> artifacts/<target>/<file>
# Exit status: non-zero if any target found something.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT/fuzz"

CARGO_FUZZ_VERSION="0.13.2"
SECONDS_PER_TARGET="${1:-${FUZZ_SECONDS:-60}}"
shift || true
# Safe Rust: AddressSanitizer adds little here and halves throughput on 2 cores.
SANITIZER="${FUZZ_SANITIZER:-none}"
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(key_normalization config_parse purge_body signature_header http_parsers)
fi

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup toolchain list | grep -q '^nightly'; then
  step "rustup toolchain install nightly (cargo-fuzz needs -Z flags)"
  rustup toolchain install nightly --profile minimal
fi
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  step "cargo install cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
fi

step "cargo +nightly fuzz build (release, debug assertions, sanitizer: $SANITIZER)"
cargo +nightly fuzz build -s "$SANITIZER" || exit 1

mkdir -p work logs
summary=()
found=0
for t in "${TARGETS[@]}"; do
  step "$t: ${SECONDS_PER_TARGET}s"
  mkdir -p "work/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  dict=()
  [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
  log="logs/$t.log"
  cargo +nightly fuzz run -s "$SANITIZER" "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 "${dict[@]}" \
    >"$log" 2>&1
  rc=$?
  execs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log" | tail -1)
  rate=$(awk '/^stat::average_exec_per_sec:/ { print $2 }' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  corpus=$(find "work/$t" -type f | wc -l)
  after=$(find "artifacts/$t" -type f | wc -l)
  new=$((after - before))
  if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
    found=1
    tail -40 "$log"
  fi
  line=$(printf '%-18s execs=%-10s exec/s=%-7s %-22s corpus=%-5s findings=%s' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$corpus" "$new")
  [ "$rc" -ne 0 ] && line="$line (exit $rc, see fuzz/$log)"
  summary+=("$line")
done

echo
step "summary ($(date -u +%Y-%m-%d), ${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
[ "$found" -eq 0 ]
