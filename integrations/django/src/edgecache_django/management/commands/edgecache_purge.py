from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import conf
from ...payload import InvalidPurge, Purge
from ...sender import Delivered, deliver, new_message


class Command(BaseCommand):
    help = "Send a signed edgecache purge now (synchronously, with the configured retries)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tag", action="append", default=[], dest="tags", help="a cache tag (repeatable)")
        parser.add_argument("--url", action="append", default=[], dest="urls", help="an absolute URL (repeatable)")
        parser.add_argument("--prefix", action="append", default=[], dest="prefixes",
                            help="/path or an absolute URL prefix, whole segments (repeatable)")
        parser.add_argument("--everything", action="store_true", help="purge every cached entry")

    def handle(self, *args: Any, tags: list[str], urls: list[str], prefixes: list[str], everything: bool,
               **options: Any) -> None:
        try:
            purge = Purge().add(tags, urls, prefixes, everything)
        except InvalidPurge as exc:
            raise CommandError(str(exc)) from None
        if not purge:
            raise CommandError("nothing to purge: give --tag, --url, --prefix or --everything")
        config = conf.load()
        if config.purge_url is None:
            raise CommandError("EDGECACHE['PURGE_URL'] is empty: nowhere to send the purge")
        for body in purge.bodies():
            message = new_message(body)
            outcome = deliver(message, config)
            if not isinstance(outcome, Delivered):
                raise CommandError(f"purge {message['id']} failed: {outcome}")
            receipt = outcome.receipt or {}
            self.stdout.write(self.style.SUCCESS(
                f"purged {receipt.get('invalidated', body)} ({message['id']}, "
                f"staleness bound {receipt.get('staleness_bound_seconds', '?')}s)"))
