"""The worker's routes, read from the URLconf: `[[vars.EDGECACHE.routes]]` TOML.

Every URL pattern whose view carries an `EdgeCache` (the `edge_cache` decorator, or
`EdgeCacheMixin` on a DRF view) becomes a route: the pattern in the worker's syntax
(`<int:pk>` and `(?P<pk>[^/.]+)` become `:pk`), the TTL and stale windows, the tags
whose placeholders are path params (others can only come from the origin's
`Cache-Tag` header, which the worker reads too), and for DRF views a query
allow-list from the filter backends and the pagination class. What cannot be told
(a regex the worker cannot express, an unknown filter backend) is reported, never
guessed: a missing allow-list keeps every parameter, which is safe.
"""
from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from .cache import EdgeCache, duration, seconds

_CONVERTER = re.compile(r"<(?:([^>:]+):)?([A-Za-z_][A-Za-z0-9_]*)>")
# Django's converters the worker's typed params mirror (docs/config.md, "Path
# patterns"): a typed param matches only what the view's pattern matches, and an int
# is keyed and tagged as the view reads it (01 is 1). `str` is the untyped `:name`.
_TYPED = {"int": "(int)", "slug": "(slug)", "uuid": "(uuid)", "str": ""}
# The same, spelled as regex groups (DRF routers write `(?P<pk>[^/.]+)` by default).
_GROUP_TYPES = {
    "[0-9]+": "(int)", r"\d+": "(int)",
    "[-a-zA-Z0-9_]+": "(slug)", "[-\\w]+": "(slug)", "[\\w-]+": "(slug)",
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}": "(uuid)",
    "[^/.]+": "", "[^/]+": "",
}
_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_LITERAL_SEGMENT = re.compile(r"^[A-Za-z0-9\-._~!$&'()+,=@:]*$")


@dataclass
class Route:
    name: str
    path: str
    spec: EdgeCache
    action: str | None
    view: Any
    notes: list[str] = field(default_factory=list)
    query: dict[str, Any] | None = None


def _regex_to_path(regex: str, notes: list[str] | None = None) -> str | None:
    """A Django regex fragment -> `:param` syntax, or None when it is not a plain
    sequence of literal segments and named groups."""
    s = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    out, i = [], 0
    while i < len(s):
        m = _GROUP.match(s, i)
        if m:
            depth, j = 1, m.end()
            while j < len(s) and depth:
                depth += {"(": 1, ")": -1}.get(s[j], 0) if s[j - 1] != "\\" else 0
                j += 1
            if depth:
                return None
            inner = s[m.end():j - 1]
            kind = _GROUP_TYPES.get(inner)
            if kind is None:  # narrower than one segment, but not a type the worker has
                if notes is not None:
                    notes.append(f":{m.group(1)} matches any segment here; Django's pattern is ({inner})")
                kind = ""
            out.append(":" + m.group(1) + kind)
            i = j
        elif s[i] == "\\" and i + 1 < len(s) and not s[i + 1].isalnum():
            out.append(s[i + 1])
            i += 2
        elif s[i] in ".^$*+?{}[]|()\\":
            return None
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _piece(pattern: Any, notes: list[str] | None = None) -> str | None:
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        if any((m.group(1) or "str") not in _TYPED for m in _CONVERTER.finditer(route)):
            for m in _CONVERTER.finditer(route):
                if (m.group(1) or "str") not in _TYPED and notes is not None:
                    notes.append(f":{m.group(2)} matches any segment here; Django's converter is {m.group(1)}")
            if any(m.group(1) == "path" for m in _CONVERTER.finditer(route)):
                return None  # <path:...> spans segments: no param of the worker does
        return _CONVERTER.sub(lambda m: ":" + m.group(2) + _TYPED.get(m.group(1) or "str", ""), route)
    if isinstance(pattern, RegexPattern):
        return _regex_to_path(pattern._regex, notes)
    return None


def _walk(patterns: list[Any], prefix: str, skipped: list[str],
          notes: tuple[str, ...] = ()) -> Iterator[tuple[str, URLPattern, list[str]]]:
    for p in patterns:
        mine: list[str] = []
        piece = _piece(p.pattern, mine)
        if isinstance(p, URLResolver):
            if piece is None:
                skipped.append(f"include {p.pattern}: a pattern the worker's patterns cannot express")
                continue
            yield from _walk(p.url_patterns, prefix + piece, skipped, (*notes, *mine))
        elif isinstance(p, URLPattern):
            if piece is None:
                if _spec(p.callback)[0] is not None:
                    skipped.append(f"{prefix}{p.pattern}: a pattern the worker's patterns cannot express")
                continue
            yield prefix + piece, p, [*notes, *mine]


def _spec(callback: Any) -> tuple[EdgeCache | None, str | None]:
    spec = getattr(callback, "edgecache", None)
    if isinstance(spec, EdgeCache):
        return spec, None
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    spec = getattr(cls, "edge_cache", None)
    if isinstance(spec, EdgeCache):
        actions = getattr(callback, "actions", None) or {}
        if actions and "get" not in actions:
            return None, None
        return spec, actions.get("get")
    return None, None


def _params(path: str) -> set[str]:
    return set(re.findall(r":([A-Za-z_][A-Za-z0-9_]*)", path))


def _route_name(url_name: str | None, path: str) -> str:
    base = url_name or path.strip("/").replace("/", "-").replace(":", "") or "root"
    return re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-") or "route"


def query_rules(cls: Any, action: str | None) -> tuple[dict[str, Any] | None, list[str]]:
    """A DRF view's query parameters: (rules, notes). None when it cannot tell."""
    notes: list[str] = []
    if cls is None or not hasattr(cls, "filter_backends"):
        return None, ["not a generic DRF view (no filter_backends): every query parameter is kept in the key"]
    allow: list[str] = []
    defaults: dict[str, str] = {}
    clamp: dict[str, list[int]] = {}
    for backend in cls.filter_backends:
        names = [c.__module__ + "." + c.__name__ for c in backend.__mro__]
        if "django_filters.rest_framework.backends.DjangoFilterBackend" in names:
            fs = getattr(cls, "filterset_class", None)
            if fs is not None:
                allow += list(fs.base_filters)
            else:
                fields = getattr(cls, "filterset_fields", None) or ()
                if isinstance(fields, dict):
                    for f, lookups in fields.items():
                        allow += [f if lk == "exact" else f"{f}__{lk}" for lk in lookups]
                else:
                    allow += list(fields)
        elif "rest_framework.filters.SearchFilter" in names:
            if getattr(cls, "search_fields", None):
                allow.append(backend.search_param)
        elif "rest_framework.filters.OrderingFilter" in names:
            allow.append(backend.ordering_param)
        else:
            return None, [f"filter backend {backend.__name__} is unknown: every query parameter is kept in the key"]
    pagination = getattr(cls, "pagination_class", None) if action in ("list", None) else None
    if pagination is not None:
        names = [c.__module__ + "." + c.__name__ for c in pagination.__mro__]
        size_param = getattr(pagination, "page_size_query_param", None)
        if "rest_framework.pagination.PageNumberPagination" in names:
            allow.append(pagination.page_query_param)
            defaults[pagination.page_query_param] = "1"
            if size_param:
                allow.append(size_param)
                if getattr(pagination, "max_page_size", None):
                    clamp[size_param] = [1, int(pagination.max_page_size)]
        elif "rest_framework.pagination.LimitOffsetPagination" in names:
            allow += [pagination.limit_query_param, pagination.offset_query_param]
            defaults[pagination.offset_query_param] = "0"
            if getattr(pagination, "max_limit", None):
                clamp[pagination.limit_query_param] = [1, int(pagination.max_limit)]
        elif "rest_framework.pagination.CursorPagination" in names:
            allow.append(pagination.cursor_query_param)
            if size_param:
                allow.append(size_param)
        else:
            return None, [f"pagination class {pagination.__name__} is unknown: every query parameter is kept in the key"]
    rules: dict[str, Any] = {"allow": list(dict.fromkeys(allow))}
    if defaults:
        rules["defaults"] = defaults
    if clamp:
        rules["clamp"] = clamp
    return rules, notes


def collect(urlconf: str | None = None) -> tuple[list[Route], list[str]]:
    """Routes for every edge-cached view, in URLconf order, and what was skipped and why."""
    skipped: list[str] = []
    routes: list[Route] = []
    seen: set[str] = set()
    for path, pattern, path_notes in _walk(get_resolver(urlconf).url_patterns, "/", skipped):
        spec, action = _spec(pattern.callback)
        if spec is None:
            continue
        # A viewset shares one EdgeCache between its list and detail URLs: name those
        # after the URL (course-list, course-detail); a plain view may name its route.
        name = spec.name if spec.name and action is None else _route_name(pattern.name, path)
        while name in seen:
            name += "-2"
        seen.add(name)
        route = Route(name, path, spec, action, pattern.callback, list(path_notes))
        cls = getattr(pattern.callback, "cls", None)
        rules, notes = query_rules(cls, action)
        route.notes += notes
        if rules is not None or spec.query:
            rules = dict(rules or {})
            for k, v in spec.query.items():
                rules[k] = v
        route.query = rules
        params = _params(path)
        for t in spec.tags_for(action):
            missing = [f for _, f, _, _ in string.Formatter().parse(t) if f and f not in params]
            if missing:
                route.notes.append(f"tag {t!r} names {{{missing[0]}}}, not a path param: left to the Cache-Tag header")
        routes.append(route)
    return routes, skipped


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def default_vary(route: Route) -> list[str]:
    if route.spec.vary is not None:
        return list(route.spec.vary)
    vary = ["accept"] if getattr(route.view, "cls", None) is not None else []  # DRF answers Vary: Accept
    if "django.middleware.locale.LocaleMiddleware" in getattr(settings, "MIDDLEWARE", ()):
        vary.append("accept-language")
    return vary


def to_toml(routes: list[Route], table: str = "vars.EDGECACHE") -> str:
    out: list[str] = []
    for r in routes:
        spec = r.spec
        out.append(f"[[{table}.routes]]")
        for note in r.notes:
            out.append(f"# {note}")
        out.append(f"name = {_toml(r.name)}")
        out.append(f"path = {_toml(r.path)}")
        out.append(f"ttl = {_toml(duration(seconds(spec.ttl)))}")
        params = _params(r.path)
        tags = [t for t in spec.tags_for(r.action)
                if all(f in params for _, f, _, _ in string.Formatter().parse(t) if f)]
        if tags:
            out.append(f"tags = {_toml(tags)}")
        if r.query is not None:
            out.append(f"query = {_toml(r.query)}")
        vary = default_vary(r)
        if vary:
            out.append(f"vary = {_toml(vary)}")
        if spec.per_user:
            out.append("per_user = true")
        for key in ("stale_while_revalidate", "stale_if_error"):
            secs = seconds(getattr(spec, key))
            if secs:
                out.append(f"{key} = {_toml(duration(secs))}")
        out.append("")
    return "\n".join(out)
