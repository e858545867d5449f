"""Origin side of edgecache's signed purge webhooks (Standard Webhooks).

POST <EDGECACHE_PURGE_URL>  body: {"tags": ["course_list", "course:<pk>", ...]}
headers: webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>
signed content: f"{webhook-id}.{webhook-timestamp}.{body}", key = base64-decode(secret minus "whsec_").
"""
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

from django.conf import settings
from django.db import transaction

try:
    from standardwebhooks.webhooks import Webhook
except ImportError:  # pragma: no cover - the pinned requirements include it
    Webhook = None

logger = logging.getLogger("edgecache.purge")

COURSE_LIST_TAG = "course_list"
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}
USER_AGENT = "edgecache-django-demo/1"

_threads = set()
_threads_lock = threading.Lock()


def course_tag(pk):
    return f"course:{pk}"


def secret_bytes(secret):
    """whsec_<base64> -> raw key bytes (same rule as the standardwebhooks library)."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret + "==")


def sign_stdlib(secret, msg_id, timestamp, body):
    """Standard Webhooks v1 signature using only the stdlib."""
    to_sign = f"{msg_id}.{int(timestamp)}.{body}".encode()
    digest = hmac.new(secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secret, msg_id, timestamp, body):
    if Webhook is not None:
        return Webhook(secret).sign(msg_id, datetime.fromtimestamp(int(timestamp), tz=timezone.utc), body)
    return sign_stdlib(secret, msg_id, timestamp, body)


def encode_body(tags):
    return json.dumps({"tags": list(tags)}, separators=(",", ":"))


def new_message_id():
    return f"msg_{uuid.uuid4().hex}"


def send_purge(tags, url=None, secret=None, msg_id=None, retry_delays=None, timeout=None):
    """POST one purge, retrying on connection errors / 5xx / 429. Returns True on a 2xx.

    The same webhook-id is used for every attempt; each attempt is re-signed with a fresh
    timestamp so a late retry still passes the receiver's timestamp tolerance.
    """
    url = url if url is not None else settings.EDGECACHE_PURGE_URL
    secret = secret if secret is not None else settings.EDGECACHE_PURGE_SECRET
    retry_delays = settings.EDGECACHE_PURGE_RETRY_DELAYS if retry_delays is None else retry_delays
    timeout = settings.EDGECACHE_PURGE_TIMEOUT if timeout is None else timeout
    msg_id = msg_id or new_message_id()
    if not url:
        logger.debug("purge disabled (no EDGECACHE_PURGE_URL); tags=%s", tags)
        return False
    if not secret:
        logger.error("purge %s not sent: EDGECACHE_PURGE_SECRET is empty", msg_id)
        return False

    body = encode_body(tags)
    attempts = 1 + len(retry_delays)
    for attempt in range(1, attempts + 1):
        timestamp = int(time.time())
        request = urllib.request.Request(
            url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, msg_id, timestamp, body),
            },
        )
        retryable = False
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            retryable = status in RETRYABLE_STATUSES
            outcome = f"HTTP {status}"
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timeout, DNS
            status = None
            retryable = True
            outcome = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        else:
            logger.info("purge %s delivered (HTTP %s, attempt %d) tags=%s", msg_id, status, attempt, tags)
            return True

        if not retryable:
            logger.error("purge %s rejected (%s, attempt %d); not retrying. tags=%s", msg_id, outcome, attempt, tags)
            return False
        if attempt < attempts:
            delay = retry_delays[attempt - 1]
            logger.warning("purge %s failed (%s, attempt %d/%d); retrying in %.1fs", msg_id, outcome, attempt, attempts, delay)
            time.sleep(delay)
        else:
            logger.error("purge %s gave up after %d attempts (%s). tags=%s", msg_id, attempts, outcome, tags)
    return False


def dispatch(tags):
    """Send now (EDGECACHE_PURGE_SYNC) or in a background thread. The id is fixed here."""
    msg_id = new_message_id()
    if settings.EDGECACHE_PURGE_SYNC:
        send_purge(tags, msg_id=msg_id)
        return

    def run():
        try:
            send_purge(tags, msg_id=msg_id)
        except Exception:  # never let a purge crash silently without a trace
            logger.exception("purge %s crashed", msg_id)
        finally:
            with _threads_lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=f"edgecache-purge-{msg_id}", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()


def wait_for_pending(timeout=10.0):
    """Join background purge threads (tests, shutdown hooks)."""
    deadline = time.monotonic() + timeout
    while True:
        with _threads_lock:
            pending = list(_threads)
        if not pending:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pending[0].join(remaining)


def schedule_purge(tags, using=None):
    """Queue a purge of `tags` for when the current transaction commits (never on rollback)."""
    if not settings.EDGECACHE_PURGE_URL:
        return
    tags = list(dict.fromkeys(tags))  # dedupe, keep order
    if tags:
        transaction.on_commit(lambda: dispatch(tags), using=using, robust=True)
