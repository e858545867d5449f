"""Delivery of signed purge webhooks (Standard Webhooks), with retries, and the one
sender of the process.

One message = `{"id": "msg_...", "body": {...}}`. The id is fixed when the message is
made, so every retry (and a task queue's redelivery) reuses it: the worker answers a
repeated id with the first receipt and does no new work.

Time budget: `TIMEOUT` bounds the whole delivery, every attempt and every wait
included; a `Retry-After` that would end past it gives up rather than wait. So with
`ASYNC = "sync"` a request never waits longer than `TIMEOUT` for its purge.

Redirects are not followed: urllib would turn the POST into a bodyless GET (which
the worker refuses with 405). A 3xx answer is a configuration error (PURGE_URL is
not the worker's webhook, e.g. http:// behind "Always Use HTTPS"), reported as one.
The standard library's client is enough for one signed POST with a timeout; with
its redirect handler replaced it adds no dependency to every project.
"""
from __future__ import annotations

import dataclasses
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
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db import DatabaseError, connections
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from . import conf, outbox
from .payload import Purge, bodies_for, encode

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
    """A 4xx other than 408/425/429 (the body or the signature is wrong), or a 3xx (PURGE_URL
    is not the webhook): retrying the same request cannot help until the configuration changes."""

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
    when = datetime.fromtimestamp(timestamp, tz=dt_timezone.utc)
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirects)


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
            with _OPENER.open(request, timeout=remaining) as response:
                text = response.read().decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = exc.read().decode("utf-8", "replace")[:500]
            if 300 <= status < 400:
                where = exc.headers.get("Location", "?")
                detail = (f"redirect to {where}: configuration error, EDGECACHE['PURGE_URL'] must be the worker's "
                          f"webhook itself (redirects are not followed)")
                logger.error("purge %s NOT delivered: HTTP %s, %s; body=%s", msg_id, status, detail, body)
                return Rejected(status, detail, attempt)
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




def _budget(config: conf.Config, deadline: float | None) -> conf.Config:
    """The config with its TIMEOUT cut to what is left before `deadline` (the exit hook's)."""
    if deadline is None:
        return config
    return dataclasses.replace(config, timeout=max(0.001, min(config.timeout, deadline - time.monotonic())))


def deliver_claimed(claimed: outbox.Claimed, config: conf.Config) -> Outcome | None:
    """Send a claimed outbox batch; its rows go on 2xx to every message, else the error is
    recorded and the batch is due again after a backoff. None when every message was delivered."""
    for message in claimed.messages:
        outcome = deliver(message, config)
        if not isinstance(outcome, Delivered):
            reason = outcome.reason if isinstance(outcome, GaveUp) else f"HTTP {outcome.status}: {outcome.detail}"
            delay = outbox.failed(claimed, reason)
            logger.warning("purge batch %s kept in the outbox (%s); next attempt in %.0fs",
                           claimed.batch, reason, delay)
            return outcome
    outbox.delivered(claimed)
    return None


def drain(alias: str, config: conf.Config | None = None, *, ignore_due: bool = False,
          deadline: float | None = None) -> tuple[int, int]:
    """Send the outbox's due batches (every batch with `ignore_due`) until `deadline`
    (monotonic). Returns (delivered, failed) batch counts."""
    config = config or conf.load()
    done = bad = 0
    for batch in outbox.due_batches(alias, ignore_due=ignore_due):
        if deadline is not None and time.monotonic() >= deadline:
            break
        claimed = outbox.claim(alias, batch, lease=config.timeout + LEASE_MARGIN)
        if claimed is None:
            continue  # another sender has it
        if deliver_claimed(claimed, _budget(config, deadline)) is None:
            done += 1
        else:
            bad += 1
    return done, bad


LEASE_MARGIN = 30.0  # seconds a claimed batch stays leased beyond one delivery's TIMEOUT
POLL = 60.0  # seconds between looks at an outbox with nothing due (rows other processes left)
MEMORY_BACKOFF_MAX = 60.0


class Sender:
    """The process's one sender: one daemon thread, started on first use, and a bounded,
    coalescing queue. In memory (ASYNC "thread") the queue is a merged purge: a burst
    of 500 autocommit saves is a few webhooks, not 500 threads. Past QUEUE_LIMIT items
    it becomes one purge of everything (too much, never too little). A failed send goes
    back into the queue and is retried with backoff while the process lives; the exit
    hook (`at_exit`, installed by apps.py) delivers what is pending for at most
    EXIT_TIMEOUT seconds. With OUTBOX the thread also drains the outbox tables this
    process wrote to, and looks at them again every POLL seconds for rows other
    (killed) processes left."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._queue: list[Purge] = []
        self._queued = 0  # items in _queue
        self._in_flight = 0  # items being sent now
        self._retry_at = 0.0
        self._failures = 0
        self._aliases: set[str] = set()
        self._outbox_wake = False
        self._poll_at = 0.0
        self._busy = False
        self._exit_deadline: float | None = None
        self._exit_drained = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    def submit(self, purges: list[Purge], config: conf.Config) -> None:
        """Queue purges for the thread (in memory)."""
        with self._cv:
            self._add(purges, config.queue_limit)
            self._start()
            self._cv.notify_all()

    def _add(self, purges: list[Purge], limit: int) -> None:
        for p in purges:
            if not p or self._covers_all():
                continue
            if p.everything and not p.soft:  # covers what is queued: keep just it
                self._queue, self._queued = [], 0
            self._queue.append(p)
            self._queued += p.size()
        if self._queued > limit:
            logger.warning("purge queue over QUEUE_LIMIT (%d items > %d): sending one purge of everything instead",
                           self._queued, limit)
            self._queue, self._queued = [Purge(everything=True)], 1

    def _covers_all(self) -> bool:
        return any(q.everything and not q.soft for q in self._queue)

    def wake_outbox(self, alias: str) -> None:
        """A batch was committed to (or left in) the outbox of `alias`: drain it."""
        with self._cv:
            self._aliases.add(alias)
            self._outbox_wake = True
            self._start()
            self._cv.notify_all()

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._exit_deadline, self._exit_drained, self._stopped = None, False, False
            self._thread = threading.Thread(target=self._run, name="edgecache-sender", daemon=True)
            self._thread.start()

    def _next(self) -> tuple[list[Purge], bool, float | None] | None:
        """Wait for work (under the lock): (queued purges, drain the outbox?, exit deadline); None: stop."""
        while True:
            now = time.monotonic()
            deadline = self._exit_deadline
            if deadline is not None and now >= deadline:
                return None
            exiting = deadline is not None
            memory = bool(self._queue) and (exiting or now >= self._retry_at)
            if exiting:  # once more, every row (due or not), within the deadline
                drain_now = bool(self._aliases) and not self._exit_drained
                self._exit_drained = self._exit_drained or drain_now
            else:
                drain_now = bool(self._aliases) and (self._outbox_wake or now >= self._poll_at)
            if memory or drain_now:
                work = self._queue if memory else []
                if memory:
                    self._in_flight, self._queue, self._queued = self._queued, [], 0
                self._outbox_wake = False
                self._busy = True
                return work, drain_now, deadline
            if deadline is not None:
                return None  # nothing left to do at exit
            wakes = ([self._retry_at] if self._queue else []) + ([self._poll_at] if self._aliases else [])
            self._cv.wait(max(0.05, min(wakes) - now) if wakes else None)

    def _run(self) -> None:
        while True:
            with self._cv:
                work = self._next()
                if work is None:
                    self._busy, self._stopped = False, True
                    self._cv.notify_all()
                    return
            purges, drain_now, deadline = work
            try:
                self._round(purges, drain_now, deadline)
            except Exception:  # the thread must outlive any one failure, and leave a trace of it
                logger.exception("edgecache purge sender: a round failed")
            finally:
                connections.close_all()  # this thread's connections only
                with self._cv:
                    self._busy, self._in_flight = False, 0
                    self._cv.notify_all()

    def _round(self, purges: list[Purge], drain_now: bool, deadline: float | None) -> None:
        config = conf.load()
        if purges:
            failed: list[Purge] = []
            for body in bodies_for(purges):
                outcome = deliver(new_message(body), _budget(config, deadline))
                if isinstance(outcome, GaveUp) and config.purge_url is not None:  # no URL: logged "NOT sent"
                    failed.append(Purge.from_json(body))
            with self._cv:
                self._failures = self._failures + 1 if failed else 0
                if failed:
                    delay = min(MEMORY_BACKOFF_MAX, 2.0 ** self._failures)
                    self._retry_at = time.monotonic() + delay
                    self._add(failed, config.queue_limit)
                    logger.warning("purge: %d webhook(s) not delivered; retrying in %.0fs", len(failed), delay)
        if drain_now:
            self._drain_all(config, deadline)

    def _drain_all(self, config: conf.Config, deadline: float | None) -> None:
        with self._cv:
            aliases = sorted(self._aliases)
        wait = POLL
        for alias in aliases:
            try:
                drain(alias, config, ignore_due=deadline is not None, deadline=deadline)
                due = outbox.next_due(alias)
            except DatabaseError as exc:  # no table yet (before migrate), database down: try later
                logger.warning("purge outbox of database %r unreadable (%s); retrying in %.0fs", alias, exc, POLL)
                continue
            if due is not None:
                wait = min(wait, max(0.5, (due - timezone.now()).total_seconds()))
        with self._cv:
            self._poll_at = time.monotonic() + wait

    def wait(self, timeout: float) -> bool:
        """Wait until the queue is empty and nothing is being sent; False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not (self._queue or self._busy or self._outbox_wake), timeout)

    def at_exit(self) -> None:
        """The exit hook: deliver what is pending within EXIT_TIMEOUT seconds, then let go."""
        try:
            limit = conf.load().exit_timeout
        except Exception:  # an unusable setting: the checks said so; keep the default bound
            limit = conf.DEFAULT_EXIT_TIMEOUT
        with self._cv:
            if self._thread is None or not self._thread.is_alive():
                return
            self._exit_deadline = time.monotonic() + limit
            self._cv.notify_all()
            self._cv.wait_for(lambda: self._stopped, limit)
            left, stopped, durable = self._queued + self._in_flight, self._stopped, bool(self._aliases)
        if left:
            logger.error("purge: %d item(s) NOT delivered: the process exits and EXIT_TIMEOUT (%gs) is over",
                         left, limit)
        elif not stopped and durable:
            logger.error("purge: the outbox was still being sent when EXIT_TIMEOUT (%gs) ended; what is left "
                         "is sent by the next sender or `manage.py edgecache_deliver`", limit)

    def after_fork(self) -> None:
        """In a forked child: the parent's thread is not here and its queue is the parent's to send."""
        self.__init__()  # type: ignore[misc]


SENDER = Sender()


def dispatch(purges: list[Purge], config: conf.Config | None = None) -> list[dict[str, Any]]:
    """Send a committed transaction's purges (in memory) as the config says: inline,
    queued for the sender thread, or handed to the ASYNC hook. Returns the messages
    made now (none when queued: the sender makes them when it sends)."""
    config = config or conf.load()
    if config.purge_url is None:  # purging off: said now, in the code that made the change
        for body in bodies_for(purges):
            deliver(new_message(body), config)
        return []
    if config.mode == "thread":
        SENDER.submit(purges, config)
        return []
    messages = [new_message(b) for b in bodies_for(purges)]
    for message in messages:
        if config.mode == "sync":
            deliver(message, config)
        else:
            config.mode(message)
    return messages


def dispatch_outbox(alias: str, batch: str, config: conf.Config | None = None) -> None:
    """A committed transaction's outbox batch: sent now (ASYNC "sync"; the sender
    retries it if that fails) or by the sender thread."""
    config = config or conf.load()
    if config.mode == "sync":
        claimed = outbox.claim(alias, batch, lease=config.timeout + LEASE_MARGIN)
        if claimed is None or deliver_claimed(claimed, config) is None:
            return
    SENDER.wake_outbox(alias)


def wait_for_pending(timeout: float = 30.0) -> bool:
    """Wait until the sender has nothing queued or in flight (tests, shutdown). False on timeout."""
    return SENDER.wait(timeout)
