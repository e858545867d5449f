#!/usr/bin/env bash
# Builds the worker to build/index.js + build/index_bg.wasm with local tools only.
# Every build path runs this (make build/test/dev/loadtest, wrangler's [build]
# command). It checks the config first (scripts/check-config.sh: an invalid
# wrangler.toml never reaches worker-build, `wrangler deploy` or `wrangler dev`),
# then stops before worker-build if a tool is missing or the wrong version.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/check-config.sh
bash scripts/check-tools.sh
worker-build --release
