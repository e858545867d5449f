"""edgecache for Django: purge the edge when models change, set edge caching headers,
and write the worker's routes from the URLconf. Guide: docs/django.md.

Add "edgecache_django" to INSTALLED_APPS and an EDGECACHE setting; then:

    from edgecache_django import register, edge_cache, purge, changing
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["register", "purge", "purge_objects", "changing", "edge_cache", "EdgeCache", "EdgeCacheMixin",
           "deliver_message", "wait_for_pending", "InvalidPurge"]
__version__ = "0.1.0"

_LAZY = {
    "register": "registry", "purge": "batch", "purge_objects": "batch", "changing": "batch",
    "edge_cache": "cache", "EdgeCache": "cache", "EdgeCacheMixin": "cache",
    "deliver_message": "sender", "wait_for_pending": "sender", "InvalidPurge": "payload",
}

if TYPE_CHECKING:
    from .batch import changing, purge, purge_objects
    from .cache import EdgeCache, EdgeCacheMixin, edge_cache
    from .payload import InvalidPurge
    from .registry import register
    from .sender import deliver_message, wait_for_pending


def __getattr__(name: str) -> Any:
    # Lazy, so `import edgecache_django` works before Django's settings are configured.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
