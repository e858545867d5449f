"""Soft purge: `purge(soft=True)` and EDGECACHE["SOFT_PURGE"] send `"soft": true`; hard stays the default."""
from django.db import transaction
from django.test import SimpleTestCase, TransactionTestCase, override_settings

import edgecache_django
from edgecache_django.checks import check_settings
from edgecache_django.payload import MAX_SOFT_ITEMS, Purge
from fake_worker import SECRET, WorkerMixin
from testapp.models import Course, Subject


class SoftPurgeTests(WorkerMixin, TransactionTestCase):
    def test_hard_is_the_default(self):
        edgecache_django.purge(tags=["a"])
        self.assertEqual(self.worker.bodies(), [{"tags": ["a"]}])

    def test_soft_argument_sends_soft_true(self):
        edgecache_django.purge(tags=["a"], urls=["https://x.example/1"], soft=True)
        self.assertEqual(self.worker.bodies(), [{"tags": ["a"], "urls": ["https://x.example/1"], "soft": True}])

    def test_hard_and_soft_in_one_transaction_are_two_bodies_and_hard_covers_soft(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["list", "a"], soft=True)
            edgecache_django.purge(tags=["a", "b"])
        self.assertEqual(self.worker.bodies(), [{"tags": ["a", "b"]}, {"tags": ["list"], "soft": True}])

    def test_a_hard_everything_leaves_no_soft_body(self):
        with transaction.atomic():
            edgecache_django.purge(tags=["list"], soft=True)
            edgecache_django.purge(everything=True)
        self.assertEqual(self.worker.bodies(), [{"everything": True}])

    def test_soft_bodies_split_at_the_soft_item_limit(self):
        with transaction.atomic():
            edgecache_django.purge(tags=[f"t{i}" for i in range(MAX_SOFT_ITEMS + 10)], soft=True)
        sizes = [(len(b["tags"]), b["soft"]) for b in self.worker.bodies()]
        self.assertEqual(sizes, [(MAX_SOFT_ITEMS, True), (10, True)])


class SoftSettingTests(WorkerMixin, TransactionTestCase):
    extra = {"SOFT_PURGE": True}

    def test_the_setting_makes_model_changes_soft(self):
        Course.objects.create(title="c", slug="c", subject=Subject.objects.create(title="S"))
        bodies = self.worker.bodies()
        self.assertTrue(bodies)
        self.assertTrue(all(b.get("soft") is True for b in bodies), bodies)

    def test_an_explicit_argument_wins_over_the_setting(self):
        edgecache_django.purge(tags=["a"], soft=False)
        self.assertEqual(self.worker.bodies(), [{"tags": ["a"]}])


class SoftCheckTests(SimpleTestCase):
    def test_soft_purge_must_be_a_bool(self):
        url = "https://api.example.com/__edgecache/purge"
        with override_settings(EDGECACHE={"PURGE_URL": url, "SECRET": SECRET, "SOFT_PURGE": "yes"}):
            self.assertEqual([m.id for m in check_settings()], ["edgecache.E009"])
        with override_settings(EDGECACHE={"PURGE_URL": url, "SECRET": SECRET, "SOFT_PURGE": True}):
            self.assertEqual([m.id for m in check_settings()], ["edgecache.I001"])

    def test_soft_everything_body(self):
        self.assertEqual(Purge(soft=True).add(everything=True).bodies(), [{"everything": True, "soft": True}])
