#!/usr/bin/env bash
# Tests scripts/check-config.sh (the config check every worker build runs first):
# which `edgecache check` it runs for each way wrangler can start a build, and that
# a failing check fails the script.
#
# Hermetic and fast: a fake `cargo` in CARGO_HOME/bin records its arguments (and
# exits with $FAKE_EXIT), so nothing is compiled; each case runs under `env -i`
# with a PATH of a few system tools. Wrangler is stood in for by a script named
# `wrangler`, so the parent-process lookup sees the command line it would.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$TMP/sysbin" "$TMP/cargo/bin"
for tool in bash dirname ps tr cat; do ln -s "$(command -v "$tool")" "$TMP/sysbin/$tool"; done
cat >"$TMP/cargo/bin/cargo" <<EOF
#!/usr/bin/env bash
echo "\$*" >"$TMP/args"
exit "\${FAKE_EXIT:-0}"
EOF
# Stands in for wrangler: runs the build command as a child, as wrangler does.
cat >"$TMP/wrangler" <<EOF
#!/usr/bin/env bash
bash "$REPO/scripts/check-config.sh"
EOF
chmod +x "$TMP/cargo/bin/cargo" "$TMP/wrangler"

passed=0
failed=0
# case NAME WANT_EXIT WANT_ARGS [VAR=VALUE...] [-- wrangler ARGS...]
case_() {
  local name="$1" want_exit="$2" want="$3"
  shift 3
  local vars=() cmd=(bash "$REPO/scripts/check-config.sh")
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == "--" ]]; then
      shift
      cmd=(bash "$TMP/wrangler" "$@")
      break
    fi
    vars+=("$1")
    shift
  done
  rm -f "$TMP/args"
  env -i HOME="$TMP" CARGO_HOME="$TMP/cargo" PATH="$TMP/sysbin" "${vars[@]}" "${cmd[@]}" \
    >"$TMP/out" 2>&1
  local code=$? got
  got="$(cat "$TMP/args" 2>/dev/null)"
  if [[ "$code" == "$want_exit" && "$got" == "run --quiet --bin edgecache -- $want" ]]; then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name: exit $code (want $want_exit), cargo $got"
    echo "    want cargo run --quiet --bin edgecache -- $want"
    sed 's/^/    | /' "$TMP/out"
  fi
}

case_ "make build / make test: validation only" 0 "check --config wrangler.toml"
case_ "wrangler dev: validation only" 0 "check --config wrangler.toml" WRANGLER_COMMAND=dev
case_ "wrangler deploy: production" 0 "check --config wrangler.toml --production" \
  WRANGLER_COMMAND=deploy
case_ "wrangler versions upload: production" 0 "check --config wrangler.toml --production" \
  "WRANGLER_COMMAND=versions upload"
case_ "EDGECACHE_CHECK=warn: findings are warnings" 0 \
  "check --config wrangler.toml --production --warn" WRANGLER_COMMAND=deploy EDGECACHE_CHECK=warn
case_ "CLOUDFLARE_ENV names the environment" 0 \
  "check --config wrangler.toml --env staging --production" WRANGLER_COMMAND=deploy \
  CLOUDFLARE_ENV=staging
case_ "EDGECACHE_CHECK_ENV overrides CLOUDFLARE_ENV" 0 "check --config wrangler.toml --env dev" \
  WRANGLER_COMMAND=dev CLOUDFLARE_ENV=staging EDGECACHE_CHECK_ENV=dev
case_ "wrangler's --env, --config and --dry-run are read from its command line" 0 \
  "check --config other.toml --env production --production --warn" WRANGLER_COMMAND=deploy \
  -- deploy --env production --dry-run -c other.toml
case_ "wrangler dev -e dev" 0 "check --config wrangler.toml --env dev" WRANGLER_COMMAND=dev \
  -- dev -e dev
case_ "--env= (empty) is the top level" 0 "check --config wrangler.toml --production" \
  WRANGLER_COMMAND=deploy -- deploy --env=
case_ "a failing check fails the build" 1 "check --config wrangler.toml --production" \
  WRANGLER_COMMAND=deploy FAKE_EXIT=1

echo "config_check: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
