#!/usr/bin/env bash
# Installs everything a fresh machine lacks; a second run that finds all in place
# takes seconds. Nothing is fetched from outside the package registries.
# Cargo installs go to $CARGO_HOME/bin (~/.cargo/bin by default), where
# scripts/env.sh looks for them.
#
#   scripts/setup.sh          everything (make setup, make test, make dev)
#   scripts/setup.sh rust     only the rustup target and components (make quick)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for comp in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$comp"; then
    step "rustup component add $comp"
    rustup component add "$comp"
  fi
done
if [ "${1:-}" = rust ]; then exit 0; fi

if [ "$(worker-build --version 2>/dev/null || true)" != "$WORKER_BUILD_VERSION" ]; then
  step "cargo install worker-build $WORKER_BUILD_VERSION (a few minutes)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

wbv="$(wasm_bindgen_version)"
if [ "$("$WASM_BINDGEN_BIN" --version 2>/dev/null || true)" != "wasm-bindgen $wbv" ]; then
  step "cargo install wasm-bindgen-cli $wbv (a few minutes)"
  # The crate index here can lag, so --locked may fail; fall back without it.
  cargo install wasm-bindgen-cli --version "$wbv" --locked --force ||
    cargo install wasm-bindgen-cli --version "$wbv" --force
fi

# npm ci only when the lock file changed since the last install.
stamp="node_modules/.edgecache-lock.sha"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi

# A real S3-compatible server for the bucket e2e tests (moto's server mode)
# and botocore, the signer tests/scripts/sigv4_botocore.py checks ours against:
# .venv-s3, reinstalled only when tests/e2e/s3/requirements.txt changes.
s3_want="$(sha256sum tests/e2e/s3/requirements.txt | cut -d' ' -f1)"
if [ ! -f .venv-s3/.requirements.sha ] || [ "$(cat .venv-s3/.requirements.sha)" != "$s3_want" ]; then
  step "python venv .venv-s3 (moto server, botocore)"
  [ -x .venv-s3/bin/python ] || "${PYTHON:-python3}" -m venv .venv-s3
  .venv-s3/bin/pip install --disable-pip-version-check -q -r tests/e2e/s3/requirements.txt
  echo "$s3_want" >.venv-s3/.requirements.sha
fi

step "demo origin (examples/django)"
bash examples/django/setup.sh

# Headless Chromium (Debian's package): tests/e2e/report_html.test.mjs opens
# the page `edgecache report --html` writes and checks that its charts render.
if ! command -v chromium >/dev/null 2>&1; then
  step "apt-get install chromium (the report page's browser test)"
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    echo "setup: chromium is missing and this user cannot install it (no root, no sudo): apt-get install chromium" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

# Local secrets for wrangler dev (never committed; production uses `wrangler secret put`).
if [ ! -f .dev.vars ]; then
  cp .dev.vars.example .dev.vars
fi
bash scripts/check-tools.sh
step "setup done"
