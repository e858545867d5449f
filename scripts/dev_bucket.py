"""The `make dev` bucket (docs/media.md): the demo's course images in a
private S3 bucket on loopback (moto, from .venv-s3), served through the worker.

    dev_bucket.py seed URL     put examples/django/media/courses/* into bucket
                               `media` on the moto server at URL (keys
                               `media/courses/NAME`, as django-storages with
                               location = "media" stores them), authentication
                               on; prints the access key JSON
    dev_bucket.py config URL   reads the EDGECACHE config (JSON) on stdin and
                               prints it with the bucket origin `media` and the
                               route `course-images` (/media/courses/*) added
"""

import json
import mimetypes
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSES = ROOT / "examples/django/media/courses"
SETUP = ROOT / "tests/e2e/s3/moto_setup.py"


def seed(url):
    objects = [
        {"key": f"media/courses/{p.name}", "file": str(p),
         "content_type": mimetypes.guess_type(p.name)[0] or "application/octet-stream"}
        for p in sorted(COURSES.iterdir())
    ]
    spec = json.dumps({"bucket": "media", "objects": objects})
    out = subprocess.run([sys.executable, str(SETUP), url], input=spec, capture_output=True,
                         text=True, check=True)
    print(out.stdout)


def config(url):
    c = json.load(sys.stdin)
    c.setdefault("origins", {})["media"] = {
        "kind": "s3", "endpoint": url, "region": "us-east-1", "bucket": "media",
        "prefix": "media/courses/", "style": "path", "private": True,
    }
    route = {"name": "course-images", "path": "/media/courses/*", "kind": "media", "ttl": "30d",
             "origin": "media", "serve_private": True, "query": {"allow": []}}
    routes = c.setdefault("routes", [])
    # Before the catch-all /media/* route, which would shadow it.
    at = next((i for i, r in enumerate(routes) if r["path"] == "/media/*"), len(routes))
    routes.insert(at, route)
    print(json.dumps(c))


if __name__ == "__main__":
    {"seed": seed, "config": config}[sys.argv[1]](sys.argv[2])
