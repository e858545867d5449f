import logging
import os

from django.conf import settings
from django.test.runner import DiscoverRunner


class SummaryRunner(DiscoverRunner):
    """Django's runner, plus a plain 'N passed, N failed, N skipped' closing line."""

    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        # Tests start with purging off whatever the shell exports; purge tests turn it on.
        settings.EDGECACHE = {"PURGE_URL": None}
        if "EDGECACHE_LOG_LEVEL" not in os.environ:  # keep the runner's output readable
            logging.getLogger("edgecache").setLevel(logging.CRITICAL)

    def run_suite(self, suite, **kwargs):
        self._result = super().run_suite(suite, **kwargs)
        return self._result

    def run_tests(self, *args, **kwargs):
        failures = super().run_tests(*args, **kwargs)
        result = getattr(self, "_result", None)
        if result is not None:
            failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
            skipped = len(result.skipped)
            passed = result.testsRun - failed - skipped
            print(f"django: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return failures
