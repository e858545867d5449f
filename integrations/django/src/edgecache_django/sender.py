"""Delivery of signed purge webhooks (Standard Webhooks), with retries.

One message = `{"id": "msg_...", "body": {...}}`. The id is fixed when the message is
made, so every retry (and a task queue's redelivery) reuses it: the worker answers a
repeated id with the first receipt and does no new work.

Time budget: `TIMEOUT` bounds the whole delivery, every attempt and every wait
included; a `Retry-After` that would end past it gives up rather than wait. So with
`ASYNC = "sync"` a request never waits longer than `TIMEOUT` for its purge.
"""
from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from standardwebhooks.webhooks import Webhook

from . import conf
from .payload import encode

logger = logging.getLogger("edgecache.purge")

USER_AGENT = "edgecache-django/0.1"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0)  # seconds before retry n when the answer gives no Retry-After


@dataclass(frozen=True)
class Delivered:
    status: int
    receipt: dict[str, Any] | None
    attempts: int


@dataclass(frozen=True)
class Rejected:
    """A 4xx other than 408/425/429: the body or the signature is wrong; retrying cannot help."""

    status: int
    detail: str
    attempts: int


@dataclass(frozen=True)
class GaveUp:
    reason: str
    attempts: int


Outcome = Delivered | Rejected | GaveUp


def new_message(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"msg_{uuid.uuid4().hex}", "body": body}


def sign(secrets: tuple[str, ...], msg_id: str, timestamp: int, body: str) -> str:
    """`webhook-signature`: one `v1,...` per secret, space-separated (rotation)."""
    when = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return " ".join(Webhook(s).sign(msg_id, when, body) for s in secrets)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def deliver(message: dict[str, Any], config: conf.Config | None = None, *,
            clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
            wall: Callable[[], float] = time.time) -> Outcome:
    """Send one message now, retrying 429/5xx/network errors within `config.timeout`."""
    config = config or conf.load()
    if config.purge_url is None:
        logger.warning("purge %s NOT sent: EDGECACHE['PURGE_URL'] is empty. body=%s", message["id"], message["body"])
        return GaveUp("PURGE_URL is empty", 0)
    msg_id, body = message["id"], encode(message["body"])
    deadline = clock() + config.timeout
    attempts = config.retries + 1
    for attempt in range(1, attempts + 1):
        remaining = deadline - clock()
        if remaining <= 0:
            return _gave_up(msg_id, f"timeout ({config.timeout}s) reached", attempt - 1)
        ts = int(wall())
        request = urllib.request.Request(config.purge_url, data=body.encode(), method="POST", headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(config.secrets, msg_id, ts, body)})
        wait: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=remaining) as response:
                text = response.read().decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = exc.read().decode("utf-8", "replace")[:500]
            if status not in RETRYABLE:
                logger.error("purge %s rejected: HTTP %s %s (not retried) body=%s", msg_id, status, detail, body)
                return Rejected(status, detail, attempt)
            outcome = f"HTTP {status}"
            wait = retry_after(exc.headers.get("Retry-After"), wall())
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timeout, DNS
            outcome = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        else:
            try:
                receipt = json.loads(text) if text.strip() else None
            except ValueError:
                receipt = None
            logger.info("purge %s delivered (HTTP %s, attempt %d) body=%s", msg_id, status, attempt, body)
            return Delivered(status, receipt if isinstance(receipt, dict) else None, attempt)
        if attempt == attempts:
            return _gave_up(msg_id, f"{outcome} after {attempts} attempts", attempt)
        delay = wait if wait is not None else BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
        if clock() + delay >= deadline:
            return _gave_up(msg_id, f"{outcome}; waiting {delay:.1f}s would pass the {config.timeout}s timeout", attempt)
        logger.warning("purge %s failed (%s, attempt %d/%d); retrying in %.1fs", msg_id, outcome, attempt, attempts, delay)
        sleep(delay)
    return _gave_up(msg_id, "no attempt made", 0)  # pragma: no cover - the loop returns


def _gave_up(msg_id: str, reason: str, attempts: int) -> GaveUp:
    logger.error("purge %s gave up: %s", msg_id, reason)
    return GaveUp(reason, attempts)


def deliver_message(message: dict[str, Any]) -> Outcome:
    """For task queues: deliver a message handed to an ASYNC hook (call it from your task)."""
    return deliver(message)


_threads: set[threading.Thread] = set()
_lock = threading.Lock()


def dispatch(bodies: list[dict[str, Any]], config: conf.Config | None = None) -> list[dict[str, Any]]:
    """Send bodies as the config says: inline, from a thread, or handed to the ASYNC hook."""
    config = config or conf.load()
    messages = [new_message(b) for b in bodies]
    for message in messages:
        if config.mode == "sync":
            deliver(message, config)
        elif config.mode == "thread":
            _start_thread(message, config)
        else:
            config.mode(message)
    return messages


def _start_thread(message: dict[str, Any], config: conf.Config) -> None:
    def run() -> None:
        try:
            deliver(message, config)
        except Exception:  # a crash must leave a trace, not vanish with the thread
            logger.exception("purge %s crashed", message["id"])
        finally:
            with _lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=f"edgecache-purge-{message['id']}", daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()


def wait_for_pending(timeout: float = 30.0) -> bool:
    """Join background deliveries (tests, shutdown). False if some are still running."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            pending = list(_threads)
        if not pending:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pending[0].join(remaining)
