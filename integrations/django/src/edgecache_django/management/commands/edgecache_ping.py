from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ... import conf
from ...sender import Delivered, deliver, new_message

PING_TAG = "edgecache-ping"


def check_receipt(receipt: Any, msg_id: str) -> list[str]:
    """What is wrong with a purge receipt (docs/purge.md, "Receipt"); empty when it is right."""
    if not isinstance(receipt, dict):
        return ["the answer is not a JSON receipt (is PURGE_URL the worker's /__edgecache/purge?)"]
    wrong = []
    if receipt.get("id") != msg_id:
        wrong.append(f"receipt id {receipt.get('id')!r} is not the message id {msg_id!r}")
    tags = (receipt.get("invalidated") or {}).get("tags") or []
    if PING_TAG not in [str(t).lower() for t in tags]:
        wrong.append(f"the receipt does not list the tag {PING_TAG!r} as invalidated")
    status = ((receipt.get("layers") or {}).get("generations") or {}).get("status")
    if status != "ok":
        wrong.append(f"layers.generations.status is {status!r}, not 'ok'")
    return wrong


class Command(BaseCommand):
    help = f"Check that the worker accepts this project's signed purges (purges the unused tag {PING_TAG!r})."

    def handle(self, *args: Any, **options: Any) -> None:
        config = conf.load()
        if config.purge_url is None:
            raise CommandError("EDGECACHE['PURGE_URL'] is empty: nothing to ping")
        message = new_message({"tags": [PING_TAG]})
        outcome = deliver(message, config)
        if not isinstance(outcome, Delivered):
            raise CommandError(f"{config.purge_url}: {outcome}")
        wrong = check_receipt(outcome.receipt, message["id"])
        if wrong:
            raise CommandError(f"{config.purge_url} answered {outcome.status} but: " + "; ".join(wrong))
        self.stdout.write(self.style.SUCCESS(
            f"ok: {config.purge_url} verified the signature and recorded the purge "
            f"(staleness bound {outcome.receipt.get('staleness_bound_seconds', '?')}s)"))  # type: ignore[union-attr]
