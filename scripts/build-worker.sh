#!/usr/bin/env bash
# Builds the worker to build/index.js + build/index_bg.wasm with local tools only.
# It checks the config first (scripts/check-config.sh): an invalid wrangler.toml
# never reaches worker-build, `wrangler deploy` or `wrangler dev`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/check-config.sh
worker-build --release
