from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalogue.purge import new_message_id, send_purge


class Command(BaseCommand):
    help = "Send a signed edgecache purge webhook now (synchronously, with retries)."

    def add_arguments(self, parser):
        parser.add_argument("--tag", action="append", required=True, dest="tags",
                            help="cache tag to purge, e.g. course_list or course:3 (repeatable)")
        parser.add_argument("--url", default=None, help="purge endpoint (default: EDGECACHE_PURGE_URL)")
        parser.add_argument("--secret", default=None, help="whsec_... secret (default: EDGECACHE_PURGE_SECRET)")

    def handle(self, *args, tags, url, secret, **options):
        url = url or settings.EDGECACHE_PURGE_URL
        secret = secret or settings.EDGECACHE_PURGE_SECRET
        if not url:
            raise CommandError("no purge URL: pass --url or set EDGECACHE_PURGE_URL")
        if not secret:
            raise CommandError("no secret: pass --secret or set EDGECACHE_PURGE_SECRET")
        msg_id = new_message_id()
        if not send_purge(tags, url=url, secret=secret, msg_id=msg_id):
            raise CommandError(f"purge {msg_id} failed (see log)")
        self.stdout.write(self.style.SUCCESS(f"purged {tags} ({msg_id})"))
