"""`manage.py check` reports every problem of the EDGECACHE setting (ids edgecache.E001...).

The check is registered by `EdgecacheConfig.ready()` (apps.py), not on import."""
from __future__ import annotations

from typing import Any

from django.core import checks

from . import conf
from .registry import registry_problems


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    _, found = conf.problems()
    out: list[checks.CheckMessage] = []
    for p in found:
        cls = {"error": checks.Error, "warning": checks.Warning, "info": checks.Info}[p.level]
        out.append(cls(p.msg, hint=p.hint, id=p.id))
    for msg, hint in registry_problems():
        out.append(checks.Error(msg, hint=hint, id="edgecache.E010"))
    return out
