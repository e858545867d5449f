"""A fake edgecache webhook on 127.0.0.1: records every request, verifies nothing
itself, and answers what a test scripts (default: 200 and a receipt like the worker's)."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.test import override_settings
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"edgecache-django-test-secret-32b").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the-secret-being-rotated-out-32b").decode()


class FakeWorker:
    def __init__(self, port: int = 0) -> None:
        # Scripted answers, used in order: (status, headers) or (status, headers, body); then receipts.
        self.script: list[tuple[Any, ...]] = []
        self.requests: list[tuple[dict[str, str], str]] = []
        self.delay = 0.0
        self.gate: threading.Event | None = None  # when set: every answer waits until the test opens it
        worker = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                worker.requests.append((headers, body))
                if worker.delay:
                    threading.Event().wait(worker.delay)
                if worker.gate is not None:
                    worker.gate.wait(120)
                if worker.script:
                    status, extra, *rest = worker.script.pop(0)
                    out = rest[0] if rest else ""
                else:
                    status, extra = 200, {"Content-Type": "application/json"}
                    parsed = json.loads(body)
                    out = json.dumps({"id": headers["webhook-id"], "received_at": 0,
                                      "invalidated": {"tags": [t.lower() for t in parsed.get("tags", [])],
                                                      "urls": parsed.get("urls", []),
                                                      "prefixes": parsed.get("prefixes", []),
                                                      "everything": parsed.get("everything", False)},
                                      "layers": {"generations": {"bumped": 1, "status": "ok"}},
                                      "staleness_bound_seconds": 65, "replayed": False})
                data = out.encode()
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout, a process that exited): what it sent is recorded

            def do_GET(self) -> None:  # a client that followed a redirect would arrive here
                worker.requests.append(({k.lower(): v for k, v in self.headers.items()}, ""))
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/__edgecache/purge"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, secret: str = SECRET) -> list[dict[str, Any]]:
        """Each request's body, after checking its signature with the standardwebhooks library."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.requests]


class WorkerMixin:
    """setUp: a fake worker and EDGECACHE pointing at it (ASYNC = "sync" unless `mode` says)."""

    mode: Any = "sync"
    extra: dict[str, Any] = {}

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.worker = FakeWorker()
        self.addCleanup(self.worker.close)  # type: ignore[attr-defined]
        o = override_settings(EDGECACHE={"PURGE_URL": self.worker.url, "SECRET": SECRET, "ASYNC": self.mode,
                                         "TIMEOUT": 5, **self.extra})
        o.enable()
        self.addCleanup(o.disable)  # type: ignore[attr-defined]
