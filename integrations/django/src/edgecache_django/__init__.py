"""edgecache for Django: purge the edge when models change, set edge caching headers,
and write the worker's routes from the URLconf. Guide: docs/django.md.

Add "edgecache_django" to INSTALLED_APPS and an EDGECACHE setting; then:

    from edgecache_django import register, edge_cache, purge, changing

Importing the package reads no setting and installs nothing (no signal, no check):
`EdgecacheConfig.ready()` does that (apps.py).
"""
from __future__ import annotations

from .batch import purge
from .cache import EdgeCache, EdgeCacheMixin, edge_cache
from .payload import InvalidPurge
from .registry import changing, purge_objects, register
from .sender import deliver_message, wait_for_pending

__all__ = ["register", "purge", "purge_objects", "changing", "edge_cache", "EdgeCache", "EdgeCacheMixin",
           "deliver_message", "wait_for_pending", "InvalidPurge"]
__version__ = "0.1.0"
