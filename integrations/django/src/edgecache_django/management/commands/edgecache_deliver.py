from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from ... import conf, outbox
from ...sender import drain


class Command(BaseCommand):
    help = ("Send the purges waiting in the outbox (EDGECACHE['OUTBOX'] = True), e.g. those a killed process "
            "committed but did not send. Fails while some stay undelivered; --watch keeps sending.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database whose outbox to send")
        parser.add_argument("--all", action="store_true", dest="send_all",
                            help="send every batch now, also those waiting for a retry")
        parser.add_argument("--watch", type=float, metavar="SECONDS",
                            help="keep running: look at the outbox every SECONDS (a service instead of cron)")

    def handle(self, *args: Any, database: str, send_all: bool, watch: float | None, **options: Any) -> None:
        config = conf.load()
        if config.purge_url is None:
            raise CommandError("EDGECACHE['PURGE_URL'] is empty: nowhere to send the outbox")
        while True:
            done, bad = drain(database, config, ignore_due=send_all)
            left = outbox.pending(database)
            self.stdout.write(f"outbox {database!r}: {done} batch(es) delivered, {bad} failed, {left} waiting")
            if watch is None:
                break
            time.sleep(watch)
        if bad or (send_all and left):
            raise CommandError(f"{left} purge batch(es) still in the outbox of {database!r}: "
                               "see the edgecache.purge log (they are retried with backoff)")
