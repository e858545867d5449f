#!/usr/bin/env bash
# Runs the demo stack on loopback: the Django origin on 127.0.0.1:8000 and the
# worker (wrangler dev, fully local) on 127.0.0.1:8787 in front of it.
#   ORIGIN_PORT, WORKER_PORT   other ports (defaults 8000, 8787)
#   BUCKET_PORT                the local S3 bucket (moto) with the course images (default 9000)
#   EDGECACHE_ENV=NAME         serve wrangler.toml's [env.NAME] (wrangler dev --env NAME);
#                              default dev (debug = true); empty: the top level
# The worker's JSON log lines (one per request and per purge, docs/observability.md)
# go to .wrangler/edgecache.log, not the terminal; `edgecache report` reads them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
ORIGIN_PORT="${ORIGIN_PORT:-8000}"
WORKER_PORT="${WORKER_PORT:-8787}"

bash scripts/setup.sh

# The origin signs purges with the same webhook secret the worker verifies.
set -a; source .dev.vars; set +a
export EDGECACHE_PURGE_URL="http://127.0.0.1:${WORKER_PORT}/__edgecache/purge"
export EDGECACHE_PURGE_SECRET="$EDGECACHE_WEBHOOK_SECRET"

mkdir -p .wrangler
bash examples/django/run.sh "127.0.0.1:${ORIGIN_PORT}" >.wrangler/origin.log 2>&1 &
origin_pid=$!
# The course images in a private S3 bucket on loopback (moto), read by the
# worker with signed requests on /media/courses/* (docs/media.md).
BUCKET_PORT="${BUCKET_PORT:-9000}"
bucket_url="http://127.0.0.1:${BUCKET_PORT}"
.venv-s3/bin/moto_server -H 127.0.0.1 -p "$BUCKET_PORT" >.wrangler/bucket.log 2>&1 &
bucket_pid=$!
trap 'kill $origin_pid $bucket_pid 2>/dev/null; wait $origin_pid $bucket_pid 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:${ORIGIN_PORT}/api/courses/" 2>/dev/null && break
  kill -0 $origin_pid 2>/dev/null || { cat .wrangler/origin.log; echo "origin failed to start" >&2; exit 1; }
  sleep 0.2
done
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "${bucket_url}/moto-api/" 2>/dev/null && break
  kill -0 $bucket_pid 2>/dev/null || { cat .wrangler/bucket.log; echo "bucket failed to start" >&2; exit 1; }
  sleep 0.2
done
bucket_keys="$(.venv-s3/bin/python scripts/dev_bucket.py seed "$bucket_url")"
key_field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$bucket_keys" "$1"; }

cat <<MSG

  edgecache dev stack
    origin (Django):  http://127.0.0.1:${ORIGIN_PORT}/api/courses/   (log: .wrangler/origin.log)
    bucket (S3, moto): ${bucket_url}/media/media/courses/   (private; log: .wrangler/bucket.log)
    worker:           http://127.0.0.1:${WORKER_PORT}/api/courses/
    worker log:       .wrangler/edgecache.log   (one JSON line per request and purge)
  try:
    curl -si http://127.0.0.1:${WORKER_PORT}/api/courses/ | grep -i cache-status   # miss
    curl -si http://127.0.0.1:${WORKER_PORT}/api/courses/ | grep -i cache-status   # hit
    curl -si http://127.0.0.1:${WORKER_PORT}/media/courses/python.png | grep -i cache-status   # from the bucket
  what the cache did (any time; --html report.html for charts):
    cargo run --quiet --bin edgecache -- report .wrangler/edgecache.log
  Ctrl-C stops both.

MSG
EDGECACHE_ENV="${EDGECACHE_ENV-dev}"
env_args=()
if [ -n "$EDGECACHE_ENV" ]; then
  env_args=(--env "$EDGECACHE_ENV")
fi
# The config as checked, with the demo origin on ORIGIN_PORT and the bucket's
# origin and route added (scripts/dev_bucket.py); the bucket's keys as vars
# (locally only: a deployed worker reads them from `wrangler secret put`).
config="$(cargo run --quiet --bin edgecache -- check --json --config wrangler.toml "${env_args[@]}" |
  python3 -c 'import json, sys; c = json.load(sys.stdin); c["origin"] = sys.argv[1]; print(json.dumps(c))' \
    "http://127.0.0.1:${ORIGIN_PORT}" |
  .venv-s3/bin/python scripts/dev_bucket.py config "$bucket_url")"
env_args+=(--var "EDGECACHE:${config}")
env_args+=(--var "EDGECACHE_S3_MEDIA_ACCESS_KEY_ID:$(key_field access_key_id)")
env_args+=(--var "EDGECACHE_S3_MEDIA_SECRET_ACCESS_KEY:$(key_field secret_access_key)")
# The worker reads nothing from request.cf: use Miniflare's placeholder rather
# than fetching the real one from workers.cloudflare.com (a warning offline).
export CLOUDFLARE_CF_FETCH_ENABLED=false
# wrangler runs the [build] command (scripts/build-worker.sh) before it serves,
# again when its file watcher is ready (wrangler 4.85; the stamp makes that
# second run instant), and whenever a file under src/ changes.
# The worker's request and purge lines ({"edgecache":...}) go to the log file,
# from their first brace; everything else (wrangler's own lines, the worker's
# other events) stays on the terminal. A shell
# loop, line by line (mawk, Debian's awk, reads a pipe in blocks: the terminal
# would wait for 4 KB of output).
log=.wrangler/edgecache.log
: >"$log"
marker='{"edgecache":'
wrangler dev --ip 127.0.0.1 --port "$WORKER_PORT" --local --show-interactive-dev-session=false "${env_args[@]}" 2>&1 |
  while IFS= read -r line; do
    case "$line" in
      *"$marker"*) printf '%s%s\n' "$marker" "${line#*"$marker"}" >>"$log" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
