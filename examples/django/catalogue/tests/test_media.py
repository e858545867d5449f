import hashlib
import unittest

from django.conf import settings
from django.test import SimpleTestCase


class MediaTests(SimpleTestCase):
    def fetch(self, path, content_type):
        response = self.client.get(path)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], content_type)
        self.assertIn("Last-Modified", response)
        return response, b"".join(response.streaming_content)

    def test_images(self):
        _, png = self.fetch("/media/courses/python.png", "image/png")
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))
        _, jpg = self.fetch("/media/courses/sunset.jpg", "image/jpeg")
        self.assertTrue(jpg.startswith(b"\xff\xd8") and jpg.endswith(b"\xff\xd9"))
        for path in (settings.MEDIA_ROOT / "courses").iterdir():
            self.assertLess(path.stat().st_size, 50 * 1024, path)

    def test_if_modified_since(self):
        response = self.client.get("/media/courses/python.png")
        again = self.client.get("/media/courses/python.png", HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
        self.assertEqual(again.status_code, 304)

    def test_missing(self):
        self.assertEqual(self.client.get("/media/courses/nope.png").status_code, 404)

    @unittest.skipUnless((settings.MEDIA_ROOT / "big.bin").exists(), "run setup.sh to generate media/big.bin")
    def test_big_bin(self):
        response, data = self.fetch("/media/big.bin", "application/octet-stream")
        self.assertEqual(int(response["Content-Length"]), 8 * 1024 * 1024)
        self.assertEqual(hashlib.sha256(data).hexdigest(),
                         "65a63be7f85e60c5e59fd0f4bdf44ddeee7f7610b24aac82121123f9f7628626")
