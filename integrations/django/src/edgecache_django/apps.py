"""The app: `ready()` is the one place the package installs side effects (as
django-cacheops does): no module of the package registers anything on import."""
from django.apps import AppConfig
from django.core import checks as django_checks

from . import checks


class EdgecacheConfig(AppConfig):
    name = "edgecache_django"
    verbose_name = "edgecache"

    def ready(self) -> None:
        django_checks.register(checks.check_settings, "edgecache")
