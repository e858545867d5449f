"""The demo's purges survive short-lived processes: `manage.py` commands run as real
subprocesses on a copy of the demo database, against a receiver on 127.0.0.1 that
checks every signature (test_purge.Receiver)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from django.conf import settings
from django.test import SimpleTestCase

from catalogue.tests.test_purge import SECRET, Receiver

HANG_GUARD = 120  # seconds: a process still running then is a failure


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessTests(SimpleTestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.db = os.path.join(tmp.name, "db.sqlite3")
        shutil.copyfile(settings.BASE_DIR / "db.sqlite3", self.db)

    def manage(self, *args, url, outbox, check=True):
        env = {**os.environ, "DJANGO_DB_PATH": self.db, "EDGECACHE_PURGE_URL": url,
               "EDGECACHE_PURGE_SECRET": SECRET, "EDGECACHE_PURGE_OUTBOX": "1" if outbox else "0",
               "EDGECACHE_PURGE_TIMEOUT": "3"}
        run = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                             capture_output=True, text=True, timeout=HANG_GUARD)
        if check and run.returncode != 0:
            self.fail(f"manage.py {args[0]} exited {run.returncode}:\n{run.stdout}\n{run.stderr}")
        return run

    def test_a_management_command_in_one_transaction_delivers_its_webhook_before_exiting(self):
        # Before the exit hook: the daemon thread died with the command, 0 deliveries in 4 runs.
        receiver = Receiver()
        self.addCleanup(receiver.close)
        self.manage("retitle_courses", "--count", "20", url=receiver.url, outbox=False)
        self.assertEqual(receiver.tags(), [["course_list", *(f"course:{pk}" for pk in range(1, 21))]])

    def test_kill_9_after_the_commit_with_the_outbox_then_edgecache_deliver(self):
        port = free_port()  # the worker is down while the process runs
        url = f"http://127.0.0.1:{port}/purge"
        script = ("import os, signal\n"
                  "from django.db import transaction\n"
                  "from catalogue.models import Course\n"
                  "with transaction.atomic():\n"
                  "    c = Course.objects.get(pk=3); c.title = 'REST APIs, revised'; c.save()\n"
                  "os.kill(os.getpid(), signal.SIGKILL)\n")
        run = self.manage("shell", "-c", script, url=url, outbox=True, check=False)
        self.assertEqual(run.returncode, -signal.SIGKILL, run.stderr)
        receiver = Receiver(port=port)  # the worker is back
        self.addCleanup(receiver.close)
        out = self.manage("edgecache_deliver", "--all", url=url, outbox=True).stdout
        self.assertIn("1 batch(es) delivered, 0 failed, 0 waiting", out)
        self.assertEqual(receiver.tags(), [["course_list", "course:3"]])
