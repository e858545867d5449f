#!/usr/bin/env bash
# The package's tests, as a user gets the package: build the wheel, install it into a
# fresh venv (python -m venv; dependencies from a local wheelhouse filled once from
# PyPI), import it, run tests/ with Django's runner. Ends with
# "edgecache-django: N passed, N failed, N skipped". Extra args: test labels.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python3}"
WORK="$HERE/.build"
HOUSE="$WORK/wheelhouse"
mkdir -p "$WORK"

# The wheelhouse: test requirements and the build backend, downloaded when they change.
STAMP="$HOUSE/.stamp"
WANT="$("$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read() + sys.version.encode()).hexdigest())' "$HERE/requirements-test.txt")"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "edgecache-django: filling the wheelhouse"
  "$PY" -m pip download --disable-pip-version-check -q -d "$HOUSE" -r "$HERE/requirements-test.txt" "setuptools>=65" wheel
  echo "$WANT" > "$STAMP"
fi

# The wheel, built from a copy of the sources (a build writes build/ and *.egg-info next to them).
rm -rf "$WORK/dist" "$WORK/src-copy"
mkdir -p "$WORK/src-copy"
cp -r "$HERE/pyproject.toml" "$HERE/README.md" "$HERE/src" "$WORK/src-copy/"
"$PY" -m pip wheel --disable-pip-version-check -q --no-deps --no-index --find-links "$HOUSE" -w "$WORK/dist" "$WORK/src-copy"
WHEEL=$(ls "$WORK"/dist/edgecache_django-*.whl)
echo "edgecache-django: built $(basename "$WHEEL")"

# A fresh venv with the wheel and nothing of this checkout on its path.
rm -rf "$WORK/venv"
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install --disable-pip-version-check -q --no-index --find-links "$HOUSE" "$WHEEL" -r "$HERE/requirements-test.txt"
cd "$WORK"
"$VPY" -c 'import edgecache_django, sys; p = edgecache_django.__file__; assert "site-packages" in p, p; print("edgecache-django: imports from", p)'
exec "$VPY" "$HERE/tests/runtests.py" "$@"
