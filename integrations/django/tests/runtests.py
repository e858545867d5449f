"""Runs the package's tests with Django's runner; ends with 'edgecache-django: N passed, N failed, N skipped'."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402
from django.test.runner import DiscoverRunner  # noqa: E402


class SummaryRunner(DiscoverRunner):
    def run_suite(self, suite, **kwargs):
        self._result = super().run_suite(suite, **kwargs)
        return self._result

    def run_tests(self, *args, **kwargs):
        failures = super().run_tests(*args, **kwargs)
        r = getattr(self, "_result", None)
        if r is not None:
            failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
            skipped = len(r.skipped)
            print(f"edgecache-django: {r.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped",
                  flush=True)
        return failures


if __name__ == "__main__":
    django.setup()
    here = os.path.dirname(os.path.abspath(__file__))
    labels = sys.argv[1:] or [here]
    sys.exit(bool(SummaryRunner(verbosity=1, top_level=here).run_tests(labels)))
