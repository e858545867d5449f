"""Edge caching headers on responses: the edge counterpart of `cache_page`.

`cache_page` stores the response in Django's cache; `edge_cache` tells the edge
(edgecache, or any CDN reading these headers) how long it may keep it:

    Cache-Control: public, s-maxage=900, stale-while-revalidate=60, stale-if-error=86400
    CDN-Cache-Control: public, max-age=900, stale-while-revalidate=60, stale-if-error=86400
    Cache-Tag: course:7

`s-maxage` keeps browsers out of it (they revalidate unless `max_age` is given).
Tags are templates over the URL's keyword arguments (`course:{pk}`); rendered tags
are escaped as the worker escapes path params, so the origin's `Cache-Tag` and the
route's template agree. The same object is what `manage.py edgecache_routes` reads
to write the worker's route for the view.
"""
from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse

from .payload import check_tag, escape_tag_value

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value: int | str | timedelta) -> int:
    """90, "90s", "15m", "2h", "30d" or a timedelta -> whole seconds."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, bool):
        raise ValueError(f"bad duration {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"bad duration {value!r}")
        return value
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"bad duration {value!r} (use 90, '90s', '15m', '2h', '30d')")
    return int(m.group(1)) * _UNITS[m.group(2)]


def duration(secs: int) -> str:
    """Whole seconds -> the worker's duration string in the largest exact unit."""
    for unit in ("d", "h", "m"):
        if secs and secs % _UNITS[unit] == 0:
            return f"{secs // _UNITS[unit]}{unit}"
    return f"{secs}s"


@dataclass(frozen=True)
class EdgeCache:
    """How the edge caches one view. `tags` for detail views / plain views; on a DRF
    viewset `list_tags` replaces them for the `list` action. `query` adds to what
    `edgecache_routes` infers (e.g. `{"lowercase": ["level"]}`)."""

    ttl: int | str | timedelta
    tags: tuple[str, ...] = ()
    list_tags: tuple[str, ...] | None = None
    stale_while_revalidate: int | str | timedelta = 0
    stale_if_error: int | str | timedelta = 0
    max_age: int | str | timedelta | None = None
    vary: tuple[str, ...] | None = None
    name: str | None = None
    query: Mapping[str, Any] = field(default_factory=dict)
    per_user: bool = False  # a per_user route: tags only, no shared Cache-Control (see apply)

    def __post_init__(self) -> None:
        for t in (*self.tags, *(self.list_tags or ())):
            check_tag("".join(lit + "x" * bool(f) for lit, f, _, _ in string.Formatter().parse(t)))
        for name in ("ttl", "stale_while_revalidate", "stale_if_error"):
            seconds(getattr(self, name))
        if self.max_age is not None:
            seconds(self.max_age)

    def tags_for(self, action: str | None) -> tuple[str, ...]:
        return self.list_tags if action == "list" and self.list_tags is not None else self.tags

    def directives(self, *, cdn: bool) -> str:
        parts = ["public"]
        if cdn:
            parts.append(f"max-age={seconds(self.ttl)}")
        else:
            if self.max_age is not None:
                parts.append(f"max-age={seconds(self.max_age)}")
            parts.append(f"s-maxage={seconds(self.ttl)}")
        for name, value in (("stale-while-revalidate", self.stale_while_revalidate),
                            ("stale-if-error", self.stale_if_error)):
            if seconds(value):
                parts.append(f"{name}={seconds(value)}")
        return ", ".join(parts)

    def apply(self, request: HttpRequest, response: HttpResponse, kwargs: Mapping[str, Any],
              action: str | None = None) -> HttpResponse:
        """Set the headers on a GET/HEAD answer the edge may store; leave others alone
        (a write, a 5xx, a response that already said private or no-store)."""
        if request.method not in ("GET", "HEAD") or not (response.status_code < 400 or response.status_code in (404, 410)):
            return response
        existing = response.get("Cache-Control", "").lower()
        if "no-store" in existing or "private" in existing:
            return response
        # A per-user answer must not be told `public`: another cache would share it.
        # edgecache keys it on the credential and takes the TTL from its route.
        if not self.per_user:
            response["Cache-Control"] = self.directives(cdn=False)
            response["CDN-Cache-Control"] = self.directives(cdn=True)
        values = {k: escape_tag_value(v) for k, v in kwargs.items()}
        tags = [t.format_map(values) for t in self.tags_for(action)]
        if tags:
            old = [t.strip() for t in response.get("Cache-Tag", "").split(",") if t.strip()]
            response["Cache-Tag"] = ",".join(dict.fromkeys([*old, *tags]))
        return response


def edge_cache(ttl: int | str | timedelta, *, tags: Iterable[str] = (), stale_while_revalidate: int | str = 0,
               stale_if_error: int | str = 0, max_age: int | str | None = None, vary: Iterable[str] | None = None,
               name: str | None = None, query: Mapping[str, Any] | None = None,
               per_user: bool = False) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: `@edge_cache("15m", tags=["article:{slug}"], stale_while_revalidate="1m")`."""
    spec = EdgeCache(ttl, tuple(tags), None, stale_while_revalidate, stale_if_error, max_age,
                     tuple(vary) if vary is not None else None, name, dict(query or {}), per_user)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            return spec.apply(request, response, kwargs)

        wrapper.edgecache = spec  # type: ignore[attr-defined]
        return wrapper

    return decorator


class EdgeCacheMixin:
    """DRF views and viewsets: `edge_cache = EdgeCache("15m", tags=("course:{pk}",), list_tags=("course_list",))`."""

    edge_cache: EdgeCache | None = None

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if self.edge_cache is not None:
            self.edge_cache.apply(request, response, getattr(self, "kwargs", kwargs), getattr(self, "action", None))
        return response
