"""edgecache_purge and edgecache_ping against the fake worker."""
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, override_settings

from fake_worker import WorkerMixin


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


class PurgeCommandTests(WorkerMixin, SimpleTestCase):
    def test_every_kind(self):
        out = run("edgecache_purge", "--tag", "course_list", "--tag", "course:5", "--url",
                  "https://api.example.com/api/courses/5/", "--prefix", "/api/courses/")
        self.assertIn("purged", out)
        self.assertEqual(self.worker.bodies(), [{"tags": ["course_list", "course:5"],
                                                 "urls": ["https://api.example.com/api/courses/5/"],
                                                 "prefixes": ["/api/courses/"]}])

    def test_everything(self):
        run("edgecache_purge", "--everything")
        self.assertEqual(self.worker.bodies(), [{"everything": True}])

    def test_nothing_or_bad_input_is_an_error(self):
        with self.assertRaisesMessage(CommandError, "nothing to purge"):
            run("edgecache_purge")
        with self.assertRaisesMessage(CommandError, "not allowed"):
            run("edgecache_purge", "--tag", "a b")
        self.assertEqual(self.worker.requests, [])

    def test_a_refused_purge_fails_the_command(self):
        self.worker.script = [(401, {}, "no valid signature")]
        with self.assertRaisesMessage(CommandError, "401"):
            run("edgecache_purge", "--tag", "x")


class PingTests(WorkerMixin, SimpleTestCase):
    def test_ok_when_the_receipt_matches(self):
        self.assertIn("ok:", run("edgecache_ping"))
        self.assertEqual(self.worker.bodies(), [{"tags": ["edgecache-ping"]}])

    def test_not_a_receipt(self):
        self.worker.script = [(200, {"Content-Type": "text/html"}, "<html>hello</html>")]
        with self.assertRaisesMessage(CommandError, "not a JSON receipt"):
            run("edgecache_ping")

    def test_wrong_receipt_id(self):
        self.worker.script = [(200, {}, '{"id": "msg_other", "invalidated": {"tags": ["edgecache-ping"]},'
                                        ' "layers": {"generations": {"status": "ok"}}}')]
        with self.assertRaisesMessage(CommandError, "is not the message id"):
            run("edgecache_ping")

    def test_bad_signature_answer(self):
        self.worker.script = [(401, {}, "no valid signature")]
        with self.assertRaisesMessage(CommandError, "401"):
            run("edgecache_ping")

    def test_unconfigured(self):
        with override_settings(EDGECACHE={"PURGE_URL": None}), self.assertRaisesMessage(CommandError, "empty"):
            run("edgecache_ping")
