#!/usr/bin/env bash
# Run the demo origin's tests (after setup). Extra args go to `manage.py test`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$HERE/setup.sh"
cd "$HERE"
exec "$HERE/.venv/bin/python" manage.py test catalogue "$@"
