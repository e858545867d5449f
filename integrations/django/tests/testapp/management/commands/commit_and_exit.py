"""A short-lived process as the purges it loses: change rows in one transaction (or
`--each`: one autocommit save per row), then end the way `--how` says."""
import os
import signal
import sys

from django.core.management.base import BaseCommand
from django.db import transaction

from testapp.models import Course, Subject


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--slug", default="c")
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--each", action="store_true", help="autocommit: one save, one commit per row")
        parser.add_argument("--how", choices=["return", "exit", "kill"], default="return")

    def handle(self, *args, slug, count, each, how, **options):
        subject = Subject.objects.create(title="S")
        if each:
            for i in range(count):
                Course.objects.create(title="t", slug=f"{slug}{i}", subject=subject)
        else:
            with transaction.atomic():
                for i in range(count):
                    Course.objects.create(title="t", slug=f"{slug}{i}", subject=subject)
        self.stdout.write("committed", ending="\n")
        self.stdout.flush()
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)  # right after the commit: no atexit, no finally
        if how == "exit":
            sys.exit(0)
