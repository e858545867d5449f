"""Delivery: signatures, retries, Retry-After, the timeout budget, task-queue hooks."""
import time

from django.test import SimpleTestCase, TransactionTestCase, override_settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import edgecache_django
from edgecache_django import conf, sender
from fake_worker import OLD_SECRET, SECRET, WorkerMixin

HOOKED: list[dict] = []


def queue_hook(message):
    """Stands for a task queue: keeps the message for a worker process to deliver."""
    HOOKED.append(message)


def send(body, **overrides):
    config = conf.load()
    for k, v in overrides.items():
        config = config.__class__(**{**config.__dict__, k: v})
    return sender.deliver(sender.new_message(body), config)


class SenderTests(WorkerMixin, SimpleTestCase):
    def test_delivered_signed_and_receipt_parsed(self):
        outcome = send({"tags": ["course_list"]})
        self.assertIsInstance(outcome, sender.Delivered)
        self.assertEqual(outcome.receipt["invalidated"]["tags"], ["course_list"])
        (headers, body), = self.worker.requests
        self.assertEqual(self.worker.bodies(), [{"tags": ["course_list"]}])
        self.assertRegex(headers["webhook-id"], r"^msg_[0-9a-f]{32}$")
        self.assertLessEqual(abs(int(headers["webhook-timestamp"]) - time.time()), 5)
        with self.assertRaises(WebhookVerificationError):
            Webhook(OLD_SECRET).verify(body, headers)

    def test_rotation_signs_with_every_secret(self):
        with override_settings(EDGECACHE={"PURGE_URL": self.worker.url, "SECRETS": [SECRET, OLD_SECRET]}):
            send({"tags": ["a"]})
        headers, _ = self.worker.requests[0]
        self.assertEqual(len(headers["webhook-signature"].split(" ")), 2)
        self.assertEqual(self.worker.bodies(SECRET), self.worker.bodies(OLD_SECRET))

    def test_503_with_retry_after_is_retried_after_that_long_with_the_same_id(self):
        self.worker.script = [(503, {"Retry-After": "1"})]
        started = time.monotonic()
        outcome = send({"tags": ["t"]})
        self.assertIsInstance(outcome, sender.Delivered)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)  # Retry-After honoured, not the 0.2 s backoff
        self.assertEqual(outcome.attempts, 2)
        self.assertEqual(len(set(self.worker.ids())), 1)
        self.assertEqual(len(self.worker.bodies()), 2)  # each attempt validly signed

    def test_backoff_without_retry_after(self):
        self.worker.script = [(500, {}), (429, {})]
        started = time.monotonic()
        self.assertIsInstance(send({"tags": ["t"]}), sender.Delivered)
        self.assertGreaterEqual(time.monotonic() - started, 0.2 + 0.5)

    def test_never_waits_past_the_timeout(self):
        self.worker.script = [(503, {"Retry-After": "30"})] * 5
        started = time.monotonic()
        outcome = send({"tags": ["t"]}, timeout=1.0)
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertIsInstance(outcome, sender.GaveUp)
        self.assertIn("timeout", outcome.reason)

    def test_a_slow_worker_is_cut_at_the_timeout(self):
        self.worker.delay = 3
        started = time.monotonic()
        outcome = send({"tags": ["t"]}, timeout=0.5)
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertIsInstance(outcome, sender.GaveUp)

    def test_gives_up_after_the_retries(self):
        self.worker.script = [(500, {"Retry-After": "0"})] * 10
        outcome = send({"tags": ["t"]}, retries=2)
        self.assertIsInstance(outcome, sender.GaveUp)
        self.assertEqual(len(self.worker.requests), 3)

    def test_4xx_is_not_retried(self):
        self.worker.script = [(401, {}, "no valid signature")]
        outcome = send({"tags": ["t"]})
        self.assertEqual(outcome, sender.Rejected(401, "no valid signature", 1))
        self.assertEqual(len(self.worker.requests), 1)

    def test_retry_after_parses_seconds_and_dates(self):
        self.assertEqual(sender.retry_after("7", 0), 7.0)
        self.assertEqual(sender.retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 4.0), 6.0)
        self.assertIsNone(sender.retry_after("soon", 0))


@override_settings()
class ModeTests(WorkerMixin, TransactionTestCase):
    def test_thread_mode_returns_before_the_retry(self):
        with override_settings(EDGECACHE={"PURGE_URL": self.worker.url, "SECRET": SECRET, "ASYNC": "thread"}):
            self.worker.script = [(503, {"Retry-After": "1"})]
            started = time.monotonic()
            edgecache_django.purge(tags=["t"])
            self.assertLess(time.monotonic() - started, 0.5)
            self.assertTrue(edgecache_django.wait_for_pending(10))
        self.assertEqual(self.worker.bodies(), [{"tags": ["t"]}] * 2)

    def test_task_queue_hook_gets_the_message_and_delivers_it_later(self):
        HOOKED.clear()
        with override_settings(EDGECACHE={"PURGE_URL": self.worker.url, "SECRET": SECRET,
                                          "ASYNC": "test_sender.queue_hook"}):
            edgecache_django.purge(tags=["queued"])
            self.assertEqual(self.worker.requests, [])
            (message,) = HOOKED
            self.assertEqual(message["body"], {"tags": ["queued"]})
            outcome = edgecache_django.deliver_message(message)  # what the task runs
        self.assertIsInstance(outcome, sender.Delivered)
        self.assertEqual(self.worker.ids(), [message["id"]])
