"""Purge a stored file's public URL when a storage saves, overwrites or deletes it.

    # settings.py
    STORAGES = {"default": {"BACKEND": "edgecache_django.storage.PurgingFileSystemStorage"}, ...}

    # or any backend, e.g. django-storages' S3:
    class MediaStorage(PurgingStorageMixin, S3Storage):
        pass

Every `save()` (a new name, or an overwrite: S3's `file_overwrite`, Django's
`allow_overwrite`) and every `delete()` purges `storage.url(name)`: a new name, as a
404 may be cached for it; an overwrite, as the old bytes are cached under it; a
delete, as the file is gone. A `FileField`/`ImageField` saves through its storage,
so a file replaced on a model is purged with the model's own tags, in the same
transaction's webhook (the default database's; at once in autocommit).

The URL purged is `storage.url(name)` without its query (a signed S3 URL's
`X-Amz-*` parameters name no cached entry); a relative URL (`MEDIA_URL = "/media/"`)
is taken on the worker's host, the host of `EDGECACHE["PURGE_URL"]`.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from django.core.files.storage import FileSystemStorage

from . import conf
from .batch import purge


def public_url(storage: Any, name: str, purge_url: str | None) -> str | None:
    """The absolute URL `storage` serves `name` under, without query; None if unknown."""
    url = storage.url(name)
    if not urlsplit(url).scheme:
        if purge_url is None:
            return None
        url = urljoin(purge_url, url)
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def purge_file(storage: Any, name: str) -> None:
    """Purge the public URL of `name` in `storage` (with the current transaction's webhook)."""
    url = public_url(storage, name, conf.load().purge_url)
    if url is not None:
        purge(urls=[url])


class PurgingStorageMixin:
    """Put before a storage class: saves and deletes purge the file's public URL."""

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        saved: str = super().save(name, content, max_length=max_length)  # type: ignore[misc]
        purge_file(self, saved)
        return saved

    def delete(self, name: str) -> None:
        super().delete(name)  # type: ignore[misc]
        purge_file(self, name)


class PurgingFileSystemStorage(PurgingStorageMixin, FileSystemStorage):
    """Django's FileSystemStorage, purging as PurgingStorageMixin says."""
