"""One transaction, one webhook: after commit, de-duplicated, split only at the worker's limits."""
import json

from django.db import transaction
from django.test import SimpleTestCase, TestCase, TransactionTestCase

import edgecache_django
from edgecache_django.payload import MAX_BODY_BYTES, InvalidPurge, Purge, encode
from fake_worker import WorkerMixin
from testapp.models import Course, Subject


def make_courses(n, subject=None):
    subject = subject or Subject.objects.create(title="S")
    return [Course.objects.create(title=f"c{i}", slug=f"c{i}", subject=subject) for i in range(n)]


class TransactionTests(WorkerMixin, TransactionTestCase):
    def test_twenty_saves_in_one_transaction_are_one_webhook(self):
        with transaction.atomic():
            courses = make_courses(20)
            for c in courses:
                c.title += " (edited)"
                c.save()
            self.assertEqual(self.worker.requests, [])  # nothing before the commit
        (body,) = self.worker.bodies()
        self.assertEqual(body["tags"][0], "course_list")
        self.assertEqual(len(body["tags"]), 1 + 2 * 20)  # list tag once; course:N and course-slug:cN each once
        self.assertEqual(set(body["tags"]), {"course_list"} | {f"course:{c.pk}" for c in courses}
                         | {f"course-slug:{c.slug}" for c in courses})

    def test_rollback_sends_nothing(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            make_courses(3)
            edgecache_django.purge(tags=["x"])
            raise RuntimeError
        self.assertEqual(self.worker.requests, [])

    def test_rolled_back_savepoint_drops_only_its_items(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["kept"])
            try:
                with transaction.atomic():
                    edgecache_django.purge(tags=["dropped"])
                    raise RuntimeError
            except RuntimeError:
                pass
            edgecache_django.purge(tags=["kept-too"], urls=["https://api.example.com/a/"])
        self.assertEqual(self.worker.bodies(), [{"tags": ["kept", "kept-too"], "urls": ["https://api.example.com/a/"]}])

    def test_autocommit_sends_at_once(self):
        edgecache_django.purge(tags=["a"])
        edgecache_django.purge(prefixes=["/api/courses/"])
        self.assertEqual(self.worker.bodies(), [{"tags": ["a"]}, {"prefixes": ["/api/courses/"]}])

    def test_duplicates_are_dropped_case_insensitively(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["Course_List", "course_list", "a"], urls=["https://x.example/1", "https://x.example/1"])
        self.assertEqual(self.worker.bodies(), [{"tags": ["Course_List", "a"], "urls": ["https://x.example/1"]}])

    def test_everything_wins(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["a"])
            edgecache_django.purge(everything=True)
        self.assertEqual(self.worker.bodies(), [{"everything": True}])

    def test_1200_tags_in_one_transaction_are_split_at_500(self):
        with transaction.atomic():
            for i in range(1200):
                edgecache_django.purge(tags=[f"t{i}"])
        sizes = [len(b["tags"]) for b in self.worker.bodies()]
        self.assertEqual(sizes, [500, 500, 200])
        self.assertEqual(len(set(self.worker.ids())), 3)

    def test_bulk_update_inside_changing_purges_the_rows(self):
        courses = make_courses(4)
        self.worker.requests.clear()
        with transaction.atomic(), edgecache_django.changing(Course.objects.filter(pk__in=[c.pk for c in courses[:2]])):
            Course.objects.filter(pk__in=[c.pk for c in courses[:2]]).update(slug=models_slug())
        (body,) = self.worker.bodies()
        self.assertIn(f"course:{courses[0].pk}", body["tags"])
        self.assertIn("course-slug:c0", body["tags"])  # the old slug's tag...
        self.assertIn("course-slug:renamed", body["tags"])  # ...and the new one
        self.assertNotIn(f"course:{courses[2].pk}", body["tags"])


def models_slug():
    from django.db.models import Case, Value, When
    return Case(When(slug="c0", then=Value("renamed")), default=Value("renamed-1"))


class OnCommitCaptureTests(WorkerMixin, TestCase):
    def test_works_under_capture_on_commit_callbacks(self):
        with self.captureOnCommitCallbacks(execute=True):
            edgecache_django.purge(tags=["a"])
            edgecache_django.purge(tags=["b"])
        self.assertEqual(self.worker.bodies(), [{"tags": ["a", "b"]}])


class SplitTests(SimpleTestCase):
    def test_limits_per_kind_and_in_total(self):
        p = Purge().add([f"t{i}" for i in range(600)], [f"https://x.example/{i}" for i in range(600)],
                        [f"/p{i}" for i in range(150)])
        for body in p.bodies():
            self.assertLessEqual(len(body.get("tags", [])), 500)
            self.assertLessEqual(len(body.get("urls", [])), 500)
            self.assertLessEqual(len(body.get("prefixes", [])), 100)
            self.assertLessEqual(sum(len(v) for v in body.values()), 900)
        flat = [x for b in p.bodies() for v in b.values() for x in v]
        self.assertEqual(len(flat), 1350)

    def test_body_bytes_limit(self):
        p = Purge().add([("t%04d" % i) + "x" * 1000 for i in range(200)])
        bodies = p.bodies()
        self.assertGreater(len(bodies), 1)
        for body in bodies:
            self.assertLessEqual(len(encode(body).encode()), MAX_BODY_BYTES)
        self.assertEqual(sum(len(b["tags"]) for b in bodies), 200)

    def test_small_batches_are_not_split(self):
        self.assertEqual(len(Purge().add(["a"] * 3, ["https://x.example/"]).bodies()), 1)

    def test_invalid_items_fail_where_they_are_made(self):
        for kwargs in ({"tags": ["has space"]}, {"tags": ["a,b"]}, {"tags": [""]}, {"tags": "course_list"},
                       {"urls": ["/relative"]}, {"urls": ["https://x.example/#f"]},
                       {"prefixes": ["/a/../b"]}, {"prefixes": ["/a?x=1"]}):
            with self.subTest(kwargs=kwargs), self.assertRaises(InvalidPurge):
                edgecache_django.purge(**kwargs)
        json.dumps(Purge().add(["ok:1"]).bodies())
