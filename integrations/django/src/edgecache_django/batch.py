"""One webhook per transaction: purges are collected and sent after the commit.

Each `purge()` registers a small `transaction.on_commit` callback holding its items,
so Django's own bookkeeping decides what survives: a rolled-back transaction
purges nothing, a rolled-back savepoint drops only its own items. The transaction's
`_Batch` is one more commit hook, kept last in the connection's list and tied to no
savepoint: at commit the surviving item callbacks run first, then the batch sends
everything, de-duplicated and split only at the worker's limits. Sent after the
commit, never before: a reader that refills the cache between a purge and the
commit would store the old row for a whole TTL.

HAZARD: keeping the batch last edits `connection.run_on_commit`, a list of
`(savepoint ids, callback, robust)` that Django (4.2 to 5.2) keeps for this; a test
(test_batching) fails if a Django release changes it.

Outside a transaction (autocommit) `on_commit` runs at once: one webhook per call
(the sender's queue coalesces a burst of them).

With OUTBOX each purge() call also writes a row in the same transaction (outbox.py),
so the purge commits with the change and survives the process; the commit hook then
only says "send batch X" (sync: now; else: the sender thread).
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from . import conf, outbox
from .payload import Purge
from .sender import dispatch, dispatch_outbox


class _Batch:
    """The commit hook that sends what the transaction's surviving callbacks collected
    (hard purges, then soft ones less what a hard one covers): from memory, or, with
    OUTBOX, the rows the same purge() calls wrote in the transaction."""

    def __init__(self, alias: str, outbox_batch: str | None) -> None:
        self.items: list[Purge] = []
        self.alias, self.outbox_batch = alias, outbox_batch
        self.sent = False

    def add(self, items: Purge) -> None:
        self.items.append(items)

    def __call__(self) -> None:
        if self.sent or not any(self.items):
            return
        self.sent = True
        if self.outbox_batch is not None:
            dispatch_outbox(self.alias, self.outbox_batch)
        else:
            dispatch(self.items)


class _Collect:
    """An on_commit callback: one purge() call's items, added to the batch at commit."""

    def __init__(self, batch: _Batch, items: Purge) -> None:
        self.batch, self.items = batch, items

    def __call__(self) -> None:
        self.batch.add(self.items)


def purge(*, tags: Iterable[str] = (), urls: Iterable[str] = (), prefixes: Iterable[str] = (),
          everything: bool = False, soft: bool | None = None, using: str | None = None) -> None:
    """Purge these tags/URLs/prefixes when the current transaction commits (at once in
    autocommit). Items are checked now: an invalid one raises `InvalidPurge` here, in the
    code that made it, not in a webhook the worker refuses later.

    `soft=True` marks matching entries stale instead of gone (served only inside each
    route's stale windows while they revalidate; docs/purge.md, "Soft purge");
    `None` takes `EDGECACHE["SOFT_PURGE"]` (default False: hard)."""
    config = conf.load()
    items = Purge(soft=config.soft if soft is None else bool(soft)).add(tags, urls, prefixes, everything)
    if not items:
        return
    conn = connections[using or DEFAULT_DB_ALIAS]
    durable = config.outbox and config.purge_url is not None
    if not conn.in_atomic_block:
        batch = _Batch(conn.alias, outbox.new_batch() if durable else None)
        if batch.outbox_batch is not None:
            outbox.write(conn.alias, batch.outbox_batch, items)
        batch.add(items)
        transaction.on_commit(batch, using=conn.alias, robust=True)  # autocommit: runs now
        return
    open_batches = [e[1] for e in conn.run_on_commit if isinstance(e[1], _Batch) and not e[1].sent]
    batch = open_batches[0] if open_batches else _Batch(conn.alias, outbox.new_batch() if durable else None)
    if batch.outbox_batch is not None:
        outbox.write(conn.alias, batch.outbox_batch, items)  # in this transaction (or savepoint): kept with it
    transaction.on_commit(_Collect(batch, items), using=conn.alias, robust=True)
    conn.run_on_commit = [e for e in conn.run_on_commit if e[1] is not batch] + [(set(), batch, True)]
