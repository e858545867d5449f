"""edge_cache and EdgeCacheMixin: the headers the edge reads."""
from django.test import TestCase

from edgecache_django.cache import EdgeCache, duration, seconds
from testapp.models import Course, Subject


class HeaderTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        s = Subject.objects.create(title="S")
        cls.course = Course.objects.create(title="a", slug="a", subject=s)

    def test_decorated_view(self):
        r = self.client.get("/articles/hello-world/")
        self.assertEqual(r["Cache-Control"], "public, max-age=60, s-maxage=3600, stale-if-error=86400")
        self.assertEqual(r["CDN-Cache-Control"], "public, max-age=3600, stale-if-error=86400")
        self.assertEqual(r["Cache-Tag"], "article:hello-world")

    def test_drf_list_and_detail_tags(self):
        r = self.client.get("/api/courses/", HTTP_ACCEPT="application/json")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Cache-Control"], "public, s-maxage=900, stale-while-revalidate=60, stale-if-error=86400")
        self.assertEqual(r["Cache-Tag"], "course_list")
        r = self.client.get(f"/api/courses/{self.course.pk}/", HTTP_ACCEPT="application/json")
        self.assertEqual(r["Cache-Tag"], f"course:{self.course.pk}")

    def test_writes_errors_and_private_answers_are_left_alone(self):
        r = self.client.post("/api/courses/", {"title": "x"}, content_type="application/json")
        self.assertNotIn("Cache-Tag", r)
        self.assertNotIn("s-maxage", r.get("Cache-Control", ""))
        r = self.client.get("/failing/")
        self.assertEqual(r.status_code, 500)
        self.assertNotIn("Cache-Control", r)
        r = self.client.get("/api/courses/999999/", HTTP_ACCEPT="application/json")
        self.assertEqual(r.status_code, 404)  # a 404 may be cached (and purged by its tag)
        self.assertIn("s-maxage=900", r["Cache-Control"])

    def test_durations(self):
        self.assertEqual([seconds(v) for v in (90, "90s", "15m", "2h", "30d")], [90, 90, 900, 7200, 2592000])
        self.assertEqual([duration(s) for s in (90, 900, 7200, 86400, 0)], ["90s", "15m", "2h", "1d", "0s"])
        for bad in ("15", "1.5m", -1, True):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                seconds(bad)
        with self.assertRaises(Exception):
            EdgeCache("1m", tags=("has space",))
