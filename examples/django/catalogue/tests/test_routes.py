"""`manage.py edgecache_routes` on the demo gives routes the worker accepts, and they
are the shipped wrangler.toml's for the same views."""
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

REPO = Path(__file__).resolve().parents[4]


class RoutesTests(SimpleTestCase):
    def generated(self):
        out = StringIO()
        call_command("edgecache_routes", "--origin", "http://127.0.0.1:8000", stdout=out, stderr=StringIO())
        return out.getvalue()

    def test_match_the_shipped_routes(self):
        mine = {r["name"]: r for r in tomllib.loads(self.generated())["vars"]["EDGECACHE"]["routes"]}
        shipped = {r["name"]: r for r in tomllib.loads((REPO / "wrangler.toml").read_text())["vars"]["EDGECACHE"]["routes"]}
        self.assertEqual(set(mine), {"course-list", "course-detail", "me"})
        for name, route in mine.items():
            for field in ("path", "ttl", "tags", "vary", "per_user"):
                self.assertEqual(route.get(field), shipped[name].get(field), f"{name}.{field}")
        self.assertEqual(set(mine["course-list"]["query"]["allow"]), set(shipped["course-list"]["query"]["allow"]))
        for field in ("defaults", "clamp", "lowercase"):
            self.assertEqual(mine["course-list"]["query"][field], shipped["course-list"]["query"][field], field)

    @unittest.skipUnless(shutil.which("cargo") and (REPO / "Cargo.toml").exists(), "needs cargo and the edgecache checkout")
    def test_edgecache_check_accepts_them(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "wrangler.toml")
            Path(path).write_text(self.generated())
            done = subprocess.run(["cargo", "run", "--quiet", "--bin", "edgecache", "--", "check", "--config", path],
                                  cwd=REPO, capture_output=True, text=True, timeout=900)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), "ok: 3 routes")
