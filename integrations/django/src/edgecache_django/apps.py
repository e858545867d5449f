"""The app: `ready()` is the one place the package installs side effects (as
django-cacheops does): no module of the package registers anything on import."""
import atexit
import os

from django.apps import AppConfig
from django.core import checks as django_checks

from . import checks
from .sender import SENDER


class EdgecacheConfig(AppConfig):
    name = "edgecache_django"
    verbose_name = "edgecache"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        django_checks.register(checks.check_settings, "edgecache")
        # At exit, the sender delivers what is pending (at most EXIT_TIMEOUT seconds);
        # a forked child (a pre-forking server's worker) starts its own sender.
        atexit.register(SENDER.at_exit)
        os.register_at_fork(after_in_child=SENDER.after_fork)
