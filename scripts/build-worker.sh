#!/usr/bin/env bash
# Builds the worker to build/index.js + build/index_bg.wasm with local tools only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
worker-build --release
