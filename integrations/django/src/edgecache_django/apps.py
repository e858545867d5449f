from django.apps import AppConfig


class EdgecacheConfig(AppConfig):
    name = "edgecache_django"
    verbose_name = "edgecache"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the EDGECACHE system check)
