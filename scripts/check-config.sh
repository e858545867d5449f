#!/usr/bin/env bash
# Validates the EDGECACHE config with `edgecache check` before every worker build
# (scripts/build-worker.sh runs it; that is wrangler's [build] command, so
# `wrangler deploy`, `wrangler versions upload` and `wrangler dev` all run it).
# An invalid config stops the build with the check's message and exit 1.
#
# Wrangler hands a custom build neither its --env nor its --config, only
# WRANGLER_COMMAND (deploy, dev, versions upload, ...). So:
#   environment  EDGECACHE_CHECK_ENV if set (empty: the top level), else
#                CLOUDFLARE_ENV (wrangler's own variable for the environment),
#                else the --env/-e argument of the wrangler process running this
#                build (read with ps, best effort), else the top level;
#   file         the --config/-c argument of that wrangler process, else wrangler.toml;
#   production   for every wrangler command but `dev` (a build for Cloudflare):
#                `check --production` refuses debug = true, an origin on
#                localhost or a private address, the placeholder KV id, ...
#                With `--dry-run` (nothing is uploaded) or EDGECACHE_CHECK=warn,
#                they are printed as warnings and the build goes on.
#   make build / make test (no WRANGLER_COMMAND): validation only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

# The command line of the wrangler process that started this build, if any.
wrangler_cmdline() {
  local pid=$PPID args
  for _ in 1 2 3 4 5 6 7 8; do
    [[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 1 ]] || return 0
    args="$(ps -o args= -p "$pid" 2>/dev/null)" || return 0
    if [[ "$args" == *wrangler* && "$args" != *build-worker.sh* ]]; then
      printf '%s\n' "$args"
      return 0
    fi
    pid="$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" || return 0
  done
}

config="wrangler.toml"
env_name="${CLOUDFLARE_ENV:-}"
dry_run=""
if [[ -n "${WRANGLER_COMMAND:-}" ]]; then
  read -ra words <<<"$(wrangler_cmdline)"
  for ((i = 0; i < ${#words[@]}; i++)); do
    next="${words[i + 1]:-}"
    case "${words[i]}" in
      --env | -e) [[ -n "${CLOUDFLARE_ENV:-}" ]] || env_name="$next" ;;
      --env=*) [[ -n "${CLOUDFLARE_ENV:-}" ]] || env_name="${words[i]#--env=}" ;;
      --config | -c) config="$next" ;;
      --config=*) config="${words[i]#--config=}" ;;
      --dry-run) dry_run=1 ;;
    esac
  done
fi
env_name="${EDGECACHE_CHECK_ENV-$env_name}"

args=(check --config "$config")
[[ -z "$env_name" ]] || args+=(--env "$env_name")
if [[ -n "${WRANGLER_COMMAND:-}" && "$WRANGLER_COMMAND" != "dev" ]]; then
  args+=(--production)
  [[ -z "$dry_run" && "${EDGECACHE_CHECK:-}" != "warn" ]] || args+=(--warn)
fi
echo "edgecache ${args[*]}"
# The debug profile: `cargo test` (make test, make quick) has built it already;
# the release profile is the wasm build's and would compile the crate again.
cargo run --quiet --bin edgecache -- "${args[@]}"
