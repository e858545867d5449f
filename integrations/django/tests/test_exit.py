"""A committed change is purged at least once, with the process really exiting: each
test runs `manage.py` of the test project (settings_proc.py, a database file) as a
subprocess against a real HTTP receiver on 127.0.0.1 (fake_worker), whose webhooks
are checked with the standardwebhooks library."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading

from django.test import SimpleTestCase

from fake_worker import SECRET, FakeWorker

HERE = os.path.dirname(os.path.abspath(__file__))
HANG_GUARD = 120  # seconds: a process that has not ended by then is a failure, not a slow pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessTests(SimpleTestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.db = os.path.join(self.dir.name, "db.sqlite3")
        self.manage("migrate", "--run-syncdb", "-v", "0", setting={"PURGE_URL": None})

    def manage(self, *args, setting, check=True):
        env = {**os.environ, "EDGECACHE_TEST_DB": self.db, "EDGECACHE_TEST_SETTING": json.dumps(setting),
               "DJANGO_SETTINGS_MODULE": "settings_proc", "PYTHONPATH": HERE}
        run = subprocess.run([sys.executable, os.path.join(HERE, "manage.py"), *args], cwd=HERE, env=env,
                             capture_output=True, text=True, timeout=HANG_GUARD)
        if check and run.returncode != 0:
            self.fail(f"manage.py {' '.join(args)} exited {run.returncode}:\n{run.stdout}\n{run.stderr}")
        return run

    def worker(self, port=0):
        worker = FakeWorker(port)
        self.addCleanup(worker.close)
        return worker

    def setting(self, url, **extra):
        return {"PURGE_URL": url, "SECRET": SECRET, "TIMEOUT": 5, "RETRIES": 1, **extra}

    def outbox_rows(self):
        with sqlite3.connect(self.db) as db:
            return db.execute("select count(*) from edgecache_django_pendingpurge").fetchone()[0]

    def tags(self, worker):
        return [t for body in worker.bodies() for t in body.get("tags", [])]

    def test_a_command_that_commits_and_returns_delivers_its_purge(self):
        # Before the exit hook: the daemon thread died with the process, 0 deliveries.
        worker = self.worker()
        for how in ("return", "exit"):
            with self.subTest(how=how):
                self.manage("commit_and_exit", "--slug", how, "--how", how, setting=self.setting(worker.url))
                self.assertIn(f"course-slug:{how}0", self.tags(worker))
        self.assertEqual(len(worker.bodies()), 2)  # one signed webhook per transaction

    def test_the_exit_hook_is_bounded_when_the_worker_hangs(self):
        worker = self.worker()
        worker.delay = 30
        run = self.manage("commit_and_exit", setting=self.setting(worker.url, TIMEOUT=60, EXIT_TIMEOUT=1))
        self.assertIn("NOT delivered", run.stderr)  # the loss is said, not silent
        self.assertIn("EXIT_TIMEOUT (1s)", run.stderr)

    def test_a_burst_of_autocommit_saves_in_a_short_process(self):
        worker = self.worker()
        worker.gate = threading.Event()  # the first webhook is held until every save is done
        env = {**os.environ, "EDGECACHE_TEST_DB": self.db, "EDGECACHE_TEST_SETTING": json.dumps(
            self.setting(worker.url, TIMEOUT=120, EXIT_TIMEOUT=120)), "DJANGO_SETTINGS_MODULE": "settings_proc",
            "PYTHONPATH": HERE}
        log = open(os.path.join(self.dir.name, "stderr.log"), "w")
        self.addCleanup(log.close)
        child = subprocess.Popen([sys.executable, os.path.join(HERE, "manage.py"), "commit_and_exit", "--each",
                                  "--count", "200"], cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        self.assertEqual(child.stdout.readline().strip(), "committed")
        worker.gate.set()
        self.assertEqual(child.wait(HANG_GUARD), 0)
        child.stdout.close()
        tags = self.tags(worker)
        self.assertEqual({f"course-slug:c{i}" for i in range(200)} - set(tags), set())
        # One sender, one queue: the held webhook, then the other 199 saves merged (split at 500 tags).
        self.assertLessEqual(len(worker.requests), 3)

    def test_outbox_kill_9_after_the_commit_then_the_command_delivers(self):
        port = free_port()  # the worker is down while the process runs
        url = f"http://127.0.0.1:{port}/__edgecache/purge"
        run = self.manage("commit_and_exit", "--slug", "k", "--how", "kill", check=False,
                          setting=self.setting(url, OUTBOX=True))
        self.assertEqual(run.returncode, -signal.SIGKILL, run.stderr)
        self.assertIn("committed", run.stdout)
        self.assertEqual(self.outbox_rows(), 1)  # the course's purge, committed with it
        worker = self.worker(port)  # the worker is back
        out = self.manage("edgecache_deliver", "--all", setting=self.setting(url, OUTBOX=True)).stdout
        self.assertIn("1 batch(es) delivered, 0 failed, 0 waiting", out)
        self.assertEqual(self.tags(worker), ["course_list", "course:1", "course-slug:k0"])
        self.assertEqual(self.outbox_rows(), 0)

    def test_outbox_kill_9_then_the_next_process_sender_delivers_it(self):
        port = free_port()
        url = f"http://127.0.0.1:{port}/__edgecache/purge"
        self.manage("commit_and_exit", "--slug", "k", "--how", "kill", check=False,
                    setting=self.setting(url, OUTBOX=True))
        worker = self.worker(port)
        self.manage("commit_and_exit", "--slug", "n", setting=self.setting(url, OUTBOX=True))
        tags = self.tags(worker)
        self.assertIn("course-slug:k0", tags)  # the killed process's purge...
        self.assertIn("course-slug:n0", tags)  # ...and the new one's
        self.assertEqual(self.outbox_rows(), 0)

    def test_outbox_kill_9_with_the_worker_up_is_delivered_at_least_once(self):
        worker = self.worker()
        setting = self.setting(worker.url, OUTBOX=True)
        self.manage("commit_and_exit", "--how", "kill", check=False, setting=setting)
        self.manage("edgecache_deliver", "--all", setting=setting)
        self.assertIn("course-slug:c0", self.tags(worker))
        self.assertEqual(len(set(worker.ids())), 1)  # sent twice or once: always the same message id
        self.assertEqual(self.outbox_rows(), 0)

    def test_check_says_which_mode_is_on(self):
        url = "https://api.example.com/__edgecache/purge"
        memory = self.manage("check", setting=self.setting(url)).stderr
        durable = self.manage("check", setting=self.setting(url, OUTBOX=True)).stderr
        self.assertIn("edgecache.I001", memory)
        self.assertIn("in memory", memory)
        self.assertIn("OUTBOX (durable)", durable)
        plain = self.manage("check", setting=self.setting("http://api.example.com/__edgecache/purge")).stderr
        self.assertIn("edgecache.W002", plain)
