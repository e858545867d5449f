"""The demo's purges, sent by the edgecache-django package, against a real local
HTTP receiver on 127.0.0.1 (the package's own tests cover it in depth)."""
import base64
import json
import socket
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.test import SimpleTestCase, TransactionTestCase, override_settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import edgecache_django
from edgecache_django import sender
from catalogue.models import Course, Subject, Topic

SECRET = "whsec_" + base64.b64encode(b"edgecache-demo-test-secret-32byt").decode()
ADMIN = "ad" * 20


class Receiver:
    """A tiny webhook endpoint: records every POST, answers with scripted statuses then 204."""

    def __init__(self, statuses=(), port=0):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/purge"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def verified(self):
        """Each request's parsed body, after checking its signature with the standardwebhooks lib."""
        return [Webhook(SECRET).verify(body, headers) for headers, body in self.requests]

    def tags(self):
        return [payload["tags"] for payload in self.verified()]

    def ids(self):
        return [headers["webhook-id"] for headers, _ in self.requests]


class ReceiverMixin:
    sync = True

    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        overrides = override_settings(EDGECACHE={"PURGE_URL": self.receiver.url, "SECRET": SECRET,
                                                 "ASYNC": "sync" if self.sync else "thread"})
        overrides.enable()
        self.addCleanup(overrides.disable)


def send(tags, **config):
    cfg = edgecache_django.conf.load()
    cfg = cfg.__class__(**{**cfg.__dict__, **config})
    return sender.deliver(sender.new_message({"tags": tags}), cfg)


class SignatureTests(SimpleTestCase):
    def test_spec_vector(self):
        # Test vector used by the Standard Webhooks / Svix reference libraries.
        sig = sender.sign(("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",), "msg_p5jXN8AQM9LWM0D4loKWxJek",
                          1614265330, '{"test": 2432232314}')
        self.assertEqual(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")

    def test_library_verifies(self):
        for msg_id, ts, body in [("msg_1", 1_700_000_000, '{"tags":["course_list"]}'),
                                 ("msg_" + "f" * 32, 1_614_265_330, '{"tags":["course_list","course:7"]}')]:
            lib = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)
            self.assertEqual(sender.sign((SECRET,), msg_id, ts, body), lib)


class SenderTests(ReceiverMixin, SimpleTestCase):
    def test_delivered_and_verifies(self):
        self.assertIsInstance(send(["course_list", "course:3"]), sender.Delivered)
        (headers, body), = self.receiver.requests
        self.assertEqual(json.loads(body), {"tags": ["course_list", "course:3"]})
        self.assertRegex(headers["webhook-id"], r"^msg_[0-9a-f]{32}$")
        self.assertLessEqual(abs(int(headers["webhook-timestamp"]) - time.time()), 5)
        self.assertTrue(headers["webhook-signature"].startswith("v1,"))
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(self.receiver.verified(), [{"tags": ["course_list", "course:3"]}])
        with self.assertRaises(WebhookVerificationError):
            Webhook("whsec_" + base64.b64encode(b"another secret, 16+ bytes").decode()).verify(body, headers)

    def test_retry_on_503_reuses_id(self):
        self.receiver.statuses = [503, 429]
        started = time.monotonic()
        self.assertIsInstance(send(["course_list"]), sender.Delivered)
        self.assertGreaterEqual(time.monotonic() - started, 0.2 + 0.5)  # backoff was honoured
        self.assertEqual(len(self.receiver.requests), 3)
        self.assertEqual(len(set(self.receiver.ids())), 1)
        self.assertEqual(self.receiver.tags(), [["course_list"]] * 3)  # every attempt is validly signed

    def test_gives_up_after_four_attempts(self):
        self.receiver.statuses = [500] * 10
        self.assertIsInstance(send(["course_list"], timeout=30.0), sender.GaveUp)
        self.assertEqual(len(self.receiver.requests), 4)
        self.assertEqual(len(set(self.receiver.ids())), 1)

    def test_no_retry_on_4xx(self):
        self.receiver.statuses = [401]
        self.assertIsInstance(send(["course_list"]), sender.Rejected)
        self.assertEqual(len(self.receiver.requests), 1)

    def test_connection_refused_is_retried_then_reported(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with self.assertLogs("edgecache.purge", "WARNING") as logs:
            outcome = send(["course_list"], purge_url=f"http://127.0.0.1:{port}/")
        self.assertIsInstance(outcome, sender.GaveUp)
        self.assertEqual(sum("retrying" in line for line in logs.output), 3)
        self.assertTrue(any("after 4 attempts" in line for line in logs.output))

    def test_management_command(self):
        out = StringIO()
        call_command("edgecache_purge", "--tag", "course_list", "--tag", "course:5", stdout=out)
        self.assertIn("purged", out.getvalue())
        self.assertEqual(self.receiver.tags(), [["course_list", "course:5"]])


class SignalTests(ReceiverMixin, TransactionTestCase):
    """Real commits and rollbacks; ASYNC = "sync" so delivery is done when the write returns."""

    fixtures = ["catalogue"]

    def test_course_save_and_delete(self):
        course = Course.objects.get(pk=3)
        course.title = "REST APIs, revised"
        course.save()
        self.assertEqual(self.receiver.tags(), [["course_list", "course:3"]])
        course.delete()
        self.assertEqual(self.receiver.tags()[1], ["course_list", "course:3"])

    def test_course_create(self):
        course = Course.objects.create(title="New", slug="new", subject_id=1, course_start_date="2025-09-01")
        self.assertEqual(self.receiver.tags(), [["course_list", f"course:{course.pk}"]])

    def test_m2m_changes(self):
        course = Course.objects.get(pk=10)  # Calculus I, no tags
        topic = Topic.objects.get(name="algorithms")
        course.tags.add(topic)
        course.tags.add(topic)  # already there: nothing changes, nothing sent
        course.tags.remove(topic)
        course.tags.clear()
        topic.courses.add(Course.objects.get(pk=1), Course.objects.get(pk=2))  # reverse side
        self.assertEqual(self.receiver.tags(), [
            ["course_list", "course:10"],
            ["course_list", "course:10"],
            ["course_list", "course:10"],
            ["course_list", "course:1", "course:2"],
        ])

    def test_subject_change_purges_its_courses(self):
        subject = Subject.objects.get(slug="design")
        subject.description = "Changed"
        subject.save()
        self.assertEqual(self.receiver.tags(), [["course_list", "course:21", "course:22", "course:23"]])

    def test_subject_delete(self):
        # The subject's delete and its cascaded course deletes are one transaction: one webhook.
        Subject.objects.get(slug="design").delete()
        (tags,) = self.receiver.tags()
        self.assertEqual((tags[0], sorted(tags[1:])), ("course_list", ["course:21", "course:22", "course:23"]))

    def test_twenty_courses_in_one_transaction_are_one_webhook(self):
        out = StringIO()
        call_command("retitle_courses", "--count", "20", stdout=out)
        self.assertEqual(self.receiver.tags(), [["course_list", *(f"course:{pk}" for pk in range(1, 21))]])

    def test_bulk_update_through_changing(self):
        beginner = Course.objects.filter(level="beginner")
        pks = list(beginner.values_list("pk", flat=True))
        with transaction.atomic(), edgecache_django.changing(beginner):
            beginner.update(level="intermediate")
        (tags,) = self.receiver.tags()
        self.assertEqual(tags, ["course_list", *(f"course:{pk}" for pk in pks)])

    def test_rollback_sends_nothing(self):
        with self.assertRaises(RuntimeError):
            with transaction.atomic():
                Course.objects.filter(pk=4).update(title="x")
                course = Course.objects.get(pk=4)
                course.save()
                course.tags.clear()
                raise RuntimeError("roll back")
        time.sleep(0.2)
        self.assertEqual(self.receiver.requests, [])

    def test_sent_only_after_commit(self):
        with transaction.atomic():
            Course.objects.get(pk=4).save()
            self.assertEqual(self.receiver.requests, [])
        self.assertEqual(self.receiver.tags(), [["course_list", "course:4"]])

    def test_api_write_purges_before_response(self):
        response = self.client.patch("/api/courses/6/", {"level": "intermediate"}, content_type="application/json",
                                     HTTP_AUTHORIZATION=f"Token {ADMIN}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.receiver.tags(), [["course_list", "course:6"]])

    def test_disabled_without_url(self):
        with override_settings(EDGECACHE={"PURGE_URL": None}), self.assertLogs("edgecache.purge", "WARNING") as logs:
            Course.objects.get(pk=4).save()
        self.assertIn("NOT sent", logs.output[0])  # loudly, not silently
        self.assertEqual(self.receiver.requests, [])


class BackgroundSendTests(ReceiverMixin, TransactionTestCase):
    fixtures = ["catalogue"]
    sync = False

    def test_sent_from_background_thread(self):
        self.receiver.statuses = [503]
        Course.objects.get(pk=2).save()  # returns without waiting for the 0.2s retry
        self.assertTrue(edgecache_django.wait_for_pending(timeout=10))
        self.assertEqual(self.receiver.tags(), [["course_list", "course:2"]] * 2)
        self.assertEqual(len(set(self.receiver.ids())), 1)


class MediaPurgeTests(ReceiverMixin, TransactionTestCase):
    """STORAGES' default is edgecache_django's PurgingFileSystemStorage: a file saved over
    an old one, or deleted, purges its public URL on the worker's host."""

    def test_overwrite_and_delete_purge_the_media_url(self):
        with tempfile.TemporaryDirectory() as root, override_settings(MEDIA_ROOT=root):
            default_storage.save("courses/new.png", ContentFile(b"one"))
            default_storage.save("courses/new.png", ContentFile(b"two"))
            default_storage.delete("courses/new.png")
        url = self.receiver.url.replace("/purge", "/media/courses/new.png")
        self.assertEqual([b["urls"] for b in self.receiver.verified()], [[url]] * 3)
