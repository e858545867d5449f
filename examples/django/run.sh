#!/usr/bin/env bash
# Run the demo origin:  ./run.sh [HOST:PORT]   (default 127.0.0.1:8000)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ADDR="${1:-127.0.0.1:8000}"
"$HERE/setup.sh"
cd "$HERE"
export PYTHONUNBUFFERED=1
# --insecure: serve admin/DRF static files even with DEBUG off (demo only).
exec "$HERE/.venv/bin/python" manage.py runserver --noreload --insecure "$ADDR"
