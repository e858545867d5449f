#!/usr/bin/env bash
# Idempotent setup of the demo origin: venv, deps, the edgecache-django package from
# this checkout, DB + fixture, media/big.bin.
#   ./setup.sh          fast no-op when everything is in place
#   ./setup.sh --reset  delete the SQLite DB and reload the fixture
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

RESET=0
for arg in "$@"; do
  case "$arg" in
    --reset) RESET=1 ;;
    *) echo "usage: $0 [--reset]" >&2; exit 2 ;;
  esac
done

VENV="$HERE/.venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  echo "setup: creating $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi

# Reinstall only when requirements.txt (or the venv's Python) changed.
STAMP="$VENV/.requirements.sha256"
WANT="$("$PY" -c 'import hashlib,sys; print(hashlib.sha256(open("requirements.txt","rb").read() + sys.version.encode()).hexdigest())')"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "setup: installing requirements"
  "$PY" -m pip install --disable-pip-version-check -q -r requirements.txt
  echo "$WANT" > "$STAMP"
fi

# The edgecache-django package from this checkout (integrations/django), reinstalled
# only when its sources change. Not editable: the demo runs the package as installed.
PKG="$(cd "$HERE/../../integrations/django" && pwd)"
PKG_STAMP="$VENV/.edgecache-django.sha256"
PKG_WANT="$(cd "$PKG" && find pyproject.toml src -type f \( -name '*.py' -o -name '*.toml' -o -name '*.typed' \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
if [ ! -f "$PKG_STAMP" ] || [ "$(cat "$PKG_STAMP")" != "$PKG_WANT" ]; then
  echo "setup: installing edgecache-django from $PKG"
  "$PY" -m pip install --disable-pip-version-check -q --no-deps "$PKG"
  echo "$PKG_WANT" > "$PKG_STAMP"
fi

DB="$HERE/db.sqlite3"
if [ "$RESET" = 1 ]; then
  echo "setup: --reset, removing $DB"
  rm -f "$DB" "$DB-journal"
fi
NEW_DB=0
[ -s "$DB" ] || NEW_DB=1  # missing or empty file = new

# --skip-checks: the setup runs before the purge URL is known (make dev exports
# it after), so the package's W001 would only be noise here.
"$PY" manage.py migrate --noinput -v 0 --skip-checks
if [ "$NEW_DB" = 1 ]; then
  # Loading the fixture must not fire purge webhooks.
  if ! EDGECACHE_PURGE_URL= "$PY" manage.py loaddata -v 1 catalogue; then
    rm -f "$DB"  # so the next run seeds again instead of keeping a half-empty DB
    echo "setup: loading the fixture failed" >&2
    exit 1
  fi
fi

if [ ! -f "$HERE/media/big.bin" ]; then
  "$PY" scripts/gen_media.py --big
fi
echo "setup: ok"
