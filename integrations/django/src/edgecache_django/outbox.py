"""The outbox (`EDGECACHE["OUTBOX"] = True`): purges stored in the database of the
change they announce, in its transaction, until the worker acknowledges them.

    purge() in a transaction  ──► INSERT a row (batch = this transaction's id)
    COMMIT                    ──► the row is as durable as the change; a rollback,
                                  or a rolled-back savepoint, removes it with the change
    after the commit          ──► a sender claims the batch (a lease), sends its
                                  messages, deletes the rows on 2xx, or records the
                                  error and the next attempt (backoff) on failure

Any process can send a batch: the batch's rows, in id order, always give the same
bodies, and each body's message id is derived from the batch id, so a batch sent
twice (a sender killed after the worker's 200, two senders racing past an expired
lease) carries the same ids and the worker does the work once. Delivery is at
least once. The table is reached through the app registry (`apps.get_model`), so
importing this module needs no loaded models.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Min, Q
from django.utils import timezone

from .payload import Purge, bodies_for

MAX_BACKOFF = 300.0  # seconds between attempts, at most
MAX_ERROR_CHARS = 1000


def table() -> Any:
    return apps.get_model("edgecache_django", "PendingPurge")


def new_batch() -> str:
    return uuid.uuid4().hex


def write(alias: str, batch: str, items: Purge) -> None:
    """One `purge()` call's items, in the current transaction of `alias`."""
    now = timezone.now()
    table().objects.using(alias).create(batch=batch, items=json.dumps(items.to_json()), created=now, due=now)


def messages(batch: str, purges: list[Purge]) -> list[dict[str, Any]]:
    """The webhook messages of a batch: fixed bodies, ids derived from the batch id."""
    space = uuid.UUID(hex=batch)
    return [{"id": f"msg_{uuid.uuid5(space, str(i)).hex}", "body": body}
            for i, body in enumerate(bodies_for(purges))]


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 1, 2, 4, ... at most MAX_BACKOFF."""
    return min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Claimed:
    """A batch this sender holds the lease of, with its messages."""

    alias: str
    batch: str
    row_ids: tuple[int, ...]
    attempts: int
    messages: list[dict[str, Any]]


def _free(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def due_batches(alias: str, *, now: datetime | None = None, ignore_due: bool = False, limit: int = 100) -> list[str]:
    """Batches nobody holds whose next attempt is due (all of them with `ignore_due`), oldest first."""
    now = now or timezone.now()
    rows = table().objects.using(alias).filter(_free(now))
    if not ignore_due:
        rows = rows.filter(due__lte=now)
    found = rows.values("batch").annotate(first=Min("id")).order_by("first")[:limit]
    return [r["batch"] for r in found]


def claim(alias: str, batch: str, lease: float, now: datetime | None = None) -> Claimed | None:
    """Take the batch for `lease` seconds; None if another sender holds it or it is gone.
    One UPDATE with the lease in its WHERE: of two senders, one wins."""
    now = now or timezone.now()
    model = table()
    won = model.objects.using(alias).filter(_free(now), batch=batch).update(lease_until=now + timedelta(seconds=lease))
    if not won:
        return None
    rows = list(model.objects.using(alias).filter(batch=batch).order_by("id"))
    purges = [Purge.from_json(json.loads(r.items)) for r in rows]
    return Claimed(alias, batch, tuple(r.id for r in rows), max(r.attempts for r in rows), messages(batch, purges))


def delivered(claimed: Claimed) -> None:
    table().objects.using(claimed.alias).filter(id__in=claimed.row_ids).delete()


def failed(claimed: Claimed, error: str, now: datetime | None = None) -> float:
    """Record a failed attempt; the batch is due again after the backoff (returned, in seconds)."""
    now = now or timezone.now()
    attempts = claimed.attempts + 1
    delay = backoff(attempts)
    table().objects.using(claimed.alias).filter(id__in=claimed.row_ids).update(
        attempts=attempts, due=now + timedelta(seconds=delay), lease_until=None, last_error=error[:MAX_ERROR_CHARS])
    return delay


def next_due(alias: str) -> datetime | None:
    """When the earliest row not held by a sender is due; None when the outbox is empty."""
    rows = table().objects.using(alias).filter(_free(timezone.now()))
    return rows.aggregate(d=Min("due"))["d"]  # type: ignore[no-any-return]


def pending(alias: str) -> int:
    return table().objects.using(alias).values("batch").distinct().count()  # type: ignore[no-any-return]
