"""At least once, in process: the one sender and its bounded queue, the outbox written
in the change's transaction, redirects refused, changing() on an exception, and what
`manage.py check` says about the mode and the URL. (test_exit: the same with real
processes exiting.)"""
import threading
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import SimpleTestCase, TransactionTestCase, override_settings

import edgecache_django
from edgecache_django import outbox, sender
from edgecache_django.checks import check_settings
from edgecache_django.models import PendingPurge
from fake_worker import SECRET, WorkerMixin
from testapp.models import Course, Subject


def checks(**setting):
    with override_settings(EDGECACHE={"SECRET": SECRET, **setting}):
        return {m.id: m.msg for m in check_settings()}


class CheckTests(SimpleTestCase):
    def test_check_says_which_mode_is_on(self):
        url = "https://api.example.com/__edgecache/purge"
        self.assertIn("in memory, by one background sender", checks(PURGE_URL=url)["edgecache.I001"])
        self.assertIn("inside the commit hook", checks(PURGE_URL=url, ASYNC="sync")["edgecache.I001"])
        self.assertIn("OUTBOX (durable)", checks(PURGE_URL=url, OUTBOX=True)["edgecache.I001"])
        self.assertNotIn("edgecache.I001", checks(PURGE_URL=None))

    def test_plain_http_to_a_remote_host_is_a_warning(self):
        self.assertIn("edgecache.W002", checks(PURGE_URL="http://api.example.com/__edgecache/purge"))
        for url in ("https://api.example.com/p", "http://127.0.0.1:8787/p", "http://localhost/p", "http://[::1]/p"):
            with self.subTest(url=url):
                self.assertNotIn("edgecache.W002", checks(PURGE_URL=url))

    def test_outbox_exit_and_queue_settings_are_checked(self):
        url = "https://api.example.com/p"
        self.assertIn("edgecache.E011", checks(PURGE_URL=url, OUTBOX="yes"))
        self.assertIn("edgecache.E011", checks(PURGE_URL=url, OUTBOX=True, ASYNC="test_sender.queue_hook"))
        self.assertIn("edgecache.E012", checks(PURGE_URL=url, EXIT_TIMEOUT=-1))
        self.assertIn("edgecache.E013", checks(PURGE_URL=url, QUEUE_LIMIT=0))


class RedirectTests(WorkerMixin, SimpleTestCase):
    def test_a_redirect_is_a_configuration_error_and_is_not_followed(self):
        for status in (301, 302, 307, 308):
            with self.subTest(status=status):
                self.worker.requests.clear()
                self.worker.script = [(status, {"Location": "https://elsewhere.example/__edgecache/purge"})]
                with self.assertLogs("edgecache.purge", "ERROR") as logs:
                    outcome = sender.deliver(sender.new_message({"tags": ["t"]}))
                self.assertIsInstance(outcome, sender.Rejected)
                self.assertEqual(outcome.status, status)
                self.assertIn("configuration error", outcome.detail)
                self.assertIn("https://elsewhere.example/", outcome.detail)
                self.assertIn("configuration error", logs.output[0])
                self.assertEqual([h.get("webhook-id") is not None for h, _ in self.worker.requests], [True])


class ChangingTests(WorkerMixin, TransactionTestCase):
    def test_an_exception_caught_outside_changing_still_purges_the_committed_change(self):
        course = Course.objects.create(title="a", slug="a", subject=Subject.objects.create(title="S"))
        self.worker.requests.clear()
        with transaction.atomic():
            try:
                with edgecache_django.changing(Course.objects.filter(pk=course.pk)):
                    Course.objects.filter(pk=course.pk).update(slug="b")
                    raise ValueError("after the write")
            except ValueError:
                pass  # the transaction commits the update
        self.assertEqual(Course.objects.get(pk=course.pk).slug, "b")
        (body,) = self.worker.bodies()
        self.assertEqual(body["tags"], ["course_list", f"course:{course.pk}", "course-slug:a", "course-slug:b"])

    def test_an_exception_that_rolls_back_purges_nothing(self):
        course = Course.objects.create(title="a", slug="a", subject=Subject.objects.create(title="S"))
        self.worker.requests.clear()
        with self.assertRaises(ValueError), transaction.atomic(), \
                edgecache_django.changing(Course.objects.filter(pk=course.pk)):
            Course.objects.filter(pk=course.pk).update(slug="b")
            raise ValueError
        self.assertEqual(self.worker.requests, [])


class SenderTests(WorkerMixin, TransactionTestCase):
    mode = "thread"
    extra = {"TIMEOUT": 120}  # a webhook held at the gate must not time out (no timed assertion)

    def test_a_burst_of_autocommit_saves_uses_one_thread_and_loses_nothing(self):
        # Before: one OS thread per webhook (501 live threads for 500 saves against a slow worker).
        self.worker.gate = threading.Event()  # the first webhook is held until every save is done
        subject = Subject.objects.create(title="S")
        before = threading.active_count()
        most = before
        for i in range(300):
            Course.objects.create(title="t", slug=f"s{i}", subject=subject)
            most = max(most, threading.active_count())
        self.assertLessEqual(most, before + 1)  # the one sender
        self.worker.gate.set()
        self.assertTrue(edgecache_django.wait_for_pending(60))
        tags = {t for body in self.worker.bodies() for t in body["tags"]}
        self.assertEqual({f"course-slug:s{i}" for i in range(300)} - tags, set())
        self.assertLessEqual(len(self.worker.requests), 1 + 2)  # the held one, then 299 saves merged (2 bodies)

    def test_past_the_queue_limit_it_purges_everything_rather_than_drop(self):
        self.worker.gate = threading.Event()
        with override_settings(EDGECACHE={"PURGE_URL": self.worker.url, "SECRET": SECRET, "QUEUE_LIMIT": 10,
                                          "TIMEOUT": 120}):
            with self.assertLogs("edgecache.purge", "WARNING") as logs:
                for i in range(40):
                    edgecache_django.purge(tags=[f"t{i}"])
                self.worker.gate.set()
                self.assertTrue(edgecache_django.wait_for_pending(30))
        self.assertIn({"everything": True}, self.worker.bodies())
        self.assertTrue(any("QUEUE_LIMIT" in line for line in logs.output))

    def test_a_failed_send_is_retried_by_the_sender(self):
        self.worker.script = [(503, {})] * 2  # RETRIES 0: each delivery is one attempt
        with override_settings(EDGECACHE={"PURGE_URL": self.worker.url, "SECRET": SECRET, "RETRIES": 0}):
            edgecache_django.purge(tags=["again"])
            self.assertTrue(edgecache_django.wait_for_pending(30))
        self.assertEqual(self.worker.bodies(), [{"tags": ["again"]}] * 3)


class OutboxTests(WorkerMixin, TransactionTestCase):
    extra = {"OUTBOX": True, "RETRIES": 0}

    def test_the_row_is_written_in_the_transaction_and_gone_once_acknowledged(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["a"])
            edgecache_django.purge(tags=["b"], soft=True)
            self.assertEqual(PendingPurge.objects.count(), 2)
            self.assertEqual(self.worker.requests, [])
        self.assertEqual(self.worker.bodies(), [{"tags": ["a"]}, {"tags": ["b"], "soft": True}])
        self.assertEqual(PendingPurge.objects.count(), 0)

    def test_a_rollback_removes_the_rows_with_the_change(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["kept"])
            try:
                with transaction.atomic():
                    edgecache_django.purge(tags=["dropped"])
                    raise RuntimeError
            except RuntimeError:
                pass
        with self.assertRaises(RuntimeError), transaction.atomic():
            edgecache_django.purge(tags=["never"])
            raise RuntimeError
        self.assertEqual(self.worker.bodies(), [{"tags": ["kept"]}])
        self.assertEqual(PendingPurge.objects.count(), 0)

    def test_a_failed_batch_stays_until_acknowledged_with_the_same_message_id(self):
        self.worker.script = [(503, {})]
        with transaction.atomic():
            edgecache_django.purge(tags=["a"])
        row = PendingPurge.objects.get()
        self.assertEqual((row.attempts, row.last_error), (1, "HTTP 503 after 1 attempts"))
        out = StringIO()
        call_command("edgecache_deliver", "--all", stdout=out)
        self.assertIn("1 batch(es) delivered, 0 failed, 0 waiting", out.getvalue())
        self.assertEqual(self.worker.bodies(), [{"tags": ["a"]}] * 2)
        self.assertEqual(len(set(self.worker.ids())), 1)
        self.assertEqual(PendingPurge.objects.count(), 0)

    def test_a_redirect_keeps_the_batch_and_fails_the_command(self):
        self.worker.script = [(301, {"Location": "https://x.example/"})] * 2
        edgecache_django.purge(tags=["a"])
        self.assertIn("configuration error", PendingPurge.objects.get().last_error)
        with self.assertRaisesMessage(CommandError, "still in the outbox"):
            call_command("edgecache_deliver", "--all", stdout=StringIO())

    def test_the_same_batch_gives_the_same_messages(self):
        batch = outbox.new_batch()
        purges = [edgecache_django.payload.Purge().add(["a"]), edgecache_django.payload.Purge(soft=True).add(["b"])]
        self.assertEqual(outbox.messages(batch, purges), outbox.messages(batch, purges))
        self.assertNotEqual(outbox.messages(batch, purges), outbox.messages(outbox.new_batch(), purges))

    def test_a_held_lease_is_not_claimed_twice(self):
        self.worker.script = [(503, {})]
        edgecache_django.purge(tags=["a"])
        (batch,) = outbox.due_batches("default", ignore_due=True)
        self.assertIsNotNone(outbox.claim("default", batch, lease=60))
        self.assertIsNone(outbox.claim("default", batch, lease=60))
