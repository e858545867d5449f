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

Outside a transaction (autocommit) `on_commit` runs at once: one webhook per call.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from . import conf
from .payload import Purge
from .sender import dispatch


class _Batch:
    """The commit hook that sends what the transaction's surviving callbacks collected:
    hard purges, then soft ones (less what a hard one covers)."""

    def __init__(self) -> None:
        self.purge = Purge()
        self.soft = Purge(soft=True)
        self.sent = False

    def add(self, items: Purge) -> None:
        (self.soft if items.soft else self.purge).merge(items)

    def __call__(self) -> None:
        soft = self.soft.without(self.purge)
        if self.sent or not (self.purge or soft):
            return
        self.sent = True
        dispatch(self.purge.bodies() + soft.bodies())


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
    if soft is None:
        soft = conf.soft_default()
    items = Purge(soft=bool(soft)).add(tags, urls, prefixes, everything)
    if not items:
        return
    conn = connections[using or DEFAULT_DB_ALIAS]
    if not conn.in_atomic_block:
        batch = _Batch()
        batch.add(items)
        transaction.on_commit(batch, using=conn.alias, robust=True)  # autocommit: runs now
        return
    open_batches = [e[1] for e in conn.run_on_commit if isinstance(e[1], _Batch) and not e[1].sent]
    batch = open_batches[0] if open_batches else _Batch()
    transaction.on_commit(_Collect(batch, items), using=conn.alias, robust=True)
    conn.run_on_commit = [e for e in conn.run_on_commit if e[1] is not batch] + [(set(), batch, True)]
