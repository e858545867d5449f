"""edgecache_routes: TOML the worker's `edgecache check` accepts."""
import os
import shutil
import subprocess
import tempfile
import tomllib
import unittest
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import SimpleTestCase

from edgecache_django.routes import _regex_to_path

# The edgecache checkout holding this package (for `cargo run --bin edgecache`), if any.
REPO = Path(__file__).resolve().parents[3]
HAS_CARGO = shutil.which("cargo") is not None and (REPO / "src/bin/edgecache.rs").exists()


def routes_output(*args):
    out, err = StringIO(), StringIO()
    call_command("edgecache_routes", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def edgecache_check(toml: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "wrangler.toml")
        Path(path).write_text(toml)
        return subprocess.run(["cargo", "run", "--quiet", "--bin", "edgecache", "--", "check", "--config", path],
                              cwd=REPO, capture_output=True, text=True, timeout=600)


class RoutesTests(SimpleTestCase):
    def test_routes_from_the_urlconf(self):
        out, err = routes_output("--origin", "http://127.0.0.1:8000")
        routes = {r["name"]: r for r in tomllib.loads(out)["vars"]["EDGECACHE"]["routes"]}
        self.assertEqual(list(routes), ["course-list", "course-detail", "offset-list", "offset-detail", "article",
                                        "archive", "broken"])
        self.assertEqual(routes["course-list"], {
            "name": "course-list", "path": "/api/courses/", "ttl": "15m", "tags": ["course_list"],
            "query": {"allow": ["level", "search", "page", "perpage"], "defaults": {"page": "1"},
                      "clamp": {"perpage": [1, 10]}, "lowercase": ["level"]},
            "vary": ["accept"], "stale_while_revalidate": "1m", "stale_if_error": "1d"})
        self.assertEqual(routes["course-detail"]["path"], "/api/courses/:pk/")
        self.assertEqual(routes["course-detail"]["tags"], ["course:{pk}"])
        self.assertEqual(routes["course-detail"]["query"]["allow"], ["level", "search"])  # filters apply to get_object
        self.assertEqual(routes["offset-list"]["query"], {"allow": ["ordering", "limit", "offset"],
                                                          "defaults": {"offset": "0"}})
        self.assertEqual(routes["offset-list"]["ttl"], "2m")
        self.assertEqual(routes["article"]["path"], "/articles/:slug(slug)/")  # Django's slug converter
        self.assertEqual(routes["article"]["tags"], ["article:{slug}"])
        self.assertNotIn("query", routes["article"])  # not DRF: cannot tell, keeps every parameter
        self.assertEqual(routes["archive"]["path"], "/archive/:year/")
        self.assertIn("# :year matches any segment here; Django's pattern is ([0-9]{4})", out)
        self.assertIn("skipped /^optional/(?P<x>", err)  # a regex the worker cannot express is reported
        self.assertNotIn("plain", out)

    def test_regex_conversion(self):
        self.assertEqual(_regex_to_path(r"^courses/(?P<pk>[^/.]+)/$"), "courses/:pk/")
        self.assertEqual(_regex_to_path(r"^a\.b/(?P<x>(\d+))/$"), "a.b/:x/")
        self.assertEqual(_regex_to_path(r"^courses/(?P<pk>[0-9]+)/$"), "courses/:pk(int)/")
        self.assertEqual(_regex_to_path(r"^c/(?P<pk>\d+)/(?P<s>[-a-zA-Z0-9_]+)/$"), "c/:pk(int)/:s(slug)/")

    def test_converters_become_typed_params(self):
        from django.urls.resolvers import RoutePattern

        from edgecache_django.routes import _piece
        self.assertEqual(_piece(RoutePattern("c/<int:pk>/<slug:s>/<uuid:u>/<str:x>/<y>/")),
                         "c/:pk(int)/:s(slug)/:u(uuid)/:x/:y/")
        self.assertIsNone(_piece(RoutePattern("files/<path:rest>")))
        self.assertIsNone(_regex_to_path(r"^courses\.(?P<format>[a-z0-9]+)/?$"))
        self.assertIsNone(_regex_to_path(r"^(a|b)/$"))

    def test_env_tables(self):
        out, _ = routes_output("--env", "staging", "--origin", "https://api.example.com")
        self.assertEqual(len(tomllib.loads(out)["env"]["staging"]["vars"]["EDGECACHE"]["routes"]), 7)

    @unittest.skipUnless(HAS_CARGO, "no cargo or no edgecache checkout around this package")
    def test_edgecache_check_accepts_the_output(self):
        out, _ = routes_output("--origin", "http://127.0.0.1:8000")
        done = edgecache_check(out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("ok: 7 routes", done.stdout)

    @unittest.skipUnless(HAS_CARGO, "no cargo or no edgecache checkout around this package")
    def test_edgecache_check_catches_a_broken_route(self):
        out, _ = routes_output("--origin", "http://127.0.0.1:8000")
        done = edgecache_check(out.replace('ttl = "15m"', 'ttl = "15x"', 1))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("15x", done.stderr + done.stdout)
