"""A stored file's public URL is purged when a storage saves, overwrites or deletes it:
Django's FileSystemStorage (PurgingFileSystemStorage) and django-storages' S3Storage
(PurgingStorageMixin) against moto's in-process S3, with the fake worker checking
every signature."""
import os
from unittest import mock

import boto3
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import SimpleTestCase, TransactionTestCase
from moto import mock_aws
from storages.backends.s3 import S3Storage

from edgecache_django.storage import PurgingFileSystemStorage, PurgingStorageMixin, public_url
from fake_worker import WorkerMixin
from testapp.models import Lesson, media_storage


class PurgingS3Storage(PurgingStorageMixin, S3Storage):
    pass


def urls(worker):
    return [u for body in worker.bodies() for u in body.get("urls", [])]


class FileSystemStorageTests(WorkerMixin, TransactionTestCase):
    def media(self, name):
        return self.worker.url.replace("/__edgecache/purge", f"/media/{name}")

    def test_save_overwrite_and_delete_purge_the_file_url(self):
        name = media_storage.save("docs/a.txt", ContentFile(b"one"))
        media_storage.save("docs/a.txt", ContentFile(b"two"))  # allow_overwrite: same name, new bytes
        media_storage.delete("docs/a.txt")
        self.assertEqual(name, "docs/a.txt")
        self.assertEqual(urls(self.worker), [self.media("docs/a.txt")] * 3)

    def test_a_file_replaced_on_a_model_is_purged_with_the_model_in_one_webhook(self):
        lesson = Lesson.objects.create(title="l", attachment=ContentFile(b"v1", name="slides.pdf"))
        self.worker.requests.clear()
        with transaction.atomic():
            lesson.attachment.save("slides.pdf", ContentFile(b"v2"))  # saves the model too
            self.assertEqual(self.worker.requests, [])  # after the commit, not before
        (body,) = self.worker.bodies()
        self.assertEqual(body, {"tags": [f"lesson:{lesson.pk}"], "urls": [self.media("lessons/slides.pdf")]})
        with open(os.path.join(media_storage.location, "lessons/slides.pdf"), "rb") as f:
            self.assertEqual(f.read(), b"v2")

    def test_a_rolled_back_replacement_purges_nothing(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            media_storage.save("docs/b.txt", ContentFile(b"x"))
            raise RuntimeError
        self.assertEqual(self.worker.requests, [])

    def test_the_url_is_absolute_on_the_workers_host_and_has_no_query(self):
        self.assertEqual(public_url(media_storage, "a b.png", "https://api.example.com/__edgecache/purge"),
                         "https://api.example.com/media/a%20b.png")
        self.assertIsNone(public_url(media_storage, "a.png", None))


@mock_aws
class S3StorageTests(WorkerMixin, TransactionTestCase):
    def setUp(self):
        super().setUp()
        env = mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                           "AWS_DEFAULT_REGION": "us-east-1"})
        env.start()
        self.addCleanup(env.stop)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="media")

    def test_custom_domain_at_the_worker_save_overwrite_delete(self):
        storage = PurgingS3Storage(bucket_name="media", custom_domain="media.example.com", querystring_auth=False,
                                   file_overwrite=True, location="uploads")
        with transaction.atomic():
            storage.save("img/a.png", ContentFile(b"one"))
            storage.save("img/a.png", ContentFile(b"two"))  # file_overwrite: same key
        storage.delete("img/a.png")
        self.assertEqual(self.worker.bodies(), [{"urls": ["https://media.example.com/uploads/img/a.png"]}] * 2)
        s3 = boto3.client("s3", region_name="us-east-1")
        self.assertEqual(s3.list_objects_v2(Bucket="media").get("KeyCount"), 0)

    def test_a_signed_url_is_purged_without_its_signature(self):
        storage = PurgingS3Storage(bucket_name="media")  # querystring_auth: url() is presigned
        self.assertIn("Signature=", storage.url("a.png"))
        storage.save("a.png", ContentFile(b"x"))
        (url,) = urls(self.worker)
        self.assertNotIn("?", url)
        self.assertTrue(url.endswith("/a.png"), url)


class MixinOrderTests(SimpleTestCase):
    def test_the_filesystem_storage_is_djangos_with_the_mixin_first(self):
        self.assertEqual(PurgingFileSystemStorage.__mro__[1], PurgingStorageMixin)
