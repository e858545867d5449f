"""Purge bodies: validation of items and splitting at the worker's limits.

The limits are the worker's (docs/purge.md, "Body"): a body over one of them is
refused with 400/413 and purges nothing, so a batch is split into several bodies,
each within every limit, and only then.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

MAX_TAGS = 500
MAX_URLS = 500
MAX_PREFIXES = 100
MAX_ITEMS = 900  # one KV write per item; a Worker invocation may make 1,000 KV operations
MAX_SOFT_ITEMS = 450  # a soft purge reads each item's value before writing it
MAX_BODY_BYTES = 64 * 1024
MAX_TAG_BYTES = 1024
MAX_URL_BYTES = 8192


class InvalidPurge(ValueError):
    """An item the worker would refuse (and with it the whole body)."""


def check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not 1 <= len(tag.encode()) <= MAX_TAG_BYTES:
        raise InvalidPurge(f"tag {tag!r}: must be 1-{MAX_TAG_BYTES} bytes")
    bad = next((c for c in tag if not "!" <= c <= "~" or c == ","), None)
    if bad is not None:
        raise InvalidPurge(f"tag {tag!r}: character {bad!r} is not allowed (printable ASCII, no space or comma)")
    return tag


def escape_tag_value(value: object) -> str:
    """A value substituted into a tag template, escaped the way the worker escapes a
    canonical path segment (percent-encoding; `,` as %2C), so `course:{slug}` names the
    same tag on both sides."""
    return quote(str(value), safe="-._~!$&'()*+=@:").replace(",", "%2C")


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment or "#" in url:
        raise InvalidPurge(f"url {url!r}: must be an absolute http(s) URL with a host and no fragment")
    if len(url.encode()) > MAX_URL_BYTES:
        raise InvalidPurge(f"url {url[:60]!r}...: longer than {MAX_URL_BYTES} bytes")
    return url


def check_prefix(prefix: str) -> str:
    path = prefix
    if not prefix.startswith("/"):
        parts = urlsplit(prefix)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidPurge(f"prefix {prefix!r}: must be /path or an absolute http(s) URL")
        path = parts.path or "/"
    if "?" in prefix or "#" in prefix or "//" in path:
        raise InvalidPurge(f"prefix {prefix!r}: no query, fragment or empty segment")
    if any(seg in (".", "..") for seg in path.split("/")):
        raise InvalidPurge(f"prefix {prefix!r}: no . or .. segments")
    if len(prefix.encode()) > MAX_URL_BYTES:
        raise InvalidPurge(f"prefix {prefix[:60]!r}...: longer than {MAX_URL_BYTES} bytes")
    return prefix


@dataclass
class Purge:
    """What one transaction (or one call) invalidates. Insertion-ordered, de-duplicated
    (tags case-insensitively, as the worker compares them)."""

    tags: dict[str, str] = field(default_factory=dict)  # lower-case -> first spelling
    urls: dict[str, None] = field(default_factory=dict)
    prefixes: dict[str, None] = field(default_factory=dict)
    everything: bool = False
    soft: bool = False  # mark stale instead of gone (`"soft": true`)

    def add(self, tags: Any = (), urls: Any = (), prefixes: Any = (), everything: bool = False) -> Purge:
        for kind, items in (("tags", tags), ("urls", urls), ("prefixes", prefixes)):
            if isinstance(items, str):
                raise InvalidPurge(f"{kind} must be a list of strings, got the string {items!r}")
        for t in tags:
            self.tags.setdefault(check_tag(t).lower(), t)
        for u in urls:
            self.urls[check_url(u)] = None
        for p in prefixes:
            self.prefixes[check_prefix(p)] = None
        self.everything = self.everything or bool(everything)
        return self

    def merge(self, other: Purge) -> None:
        for k, v in other.tags.items():
            self.tags.setdefault(k, v)
        self.urls.update(other.urls)
        self.prefixes.update(other.prefixes)
        self.everything = self.everything or other.everything

    def __bool__(self) -> bool:
        return bool(self.tags or self.urls or self.prefixes or self.everything)

    def size(self) -> int:
        """Items held (what a queue's bound counts; `everything` is one)."""
        return len(self.tags) + len(self.urls) + len(self.prefixes) + int(self.everything)

    def to_json(self) -> dict[str, Any]:
        """What an outbox row stores; `from_json` reads it back."""
        return {"tags": list(self.tags.values()), "urls": list(self.urls), "prefixes": list(self.prefixes),
                "everything": self.everything, "soft": self.soft}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Purge:
        """A stored purge, or a webhook body (`{"tags": [...], "soft": true}`), as a Purge."""
        return cls(soft=bool(data.get("soft"))).add(data.get("tags", ()), data.get("urls", ()),
                                                     data.get("prefixes", ()), bool(data.get("everything")))

    def without(self, hard: Purge) -> Purge:
        """This (soft) purge less what `hard` purges anyway: a hard purge covers a soft one."""
        if hard.everything:
            return Purge(soft=self.soft)
        out = Purge(soft=self.soft, everything=self.everything)
        out.tags = {k: v for k, v in self.tags.items() if k not in hard.tags}
        out.urls = {u: None for u in self.urls if u not in hard.urls}
        out.prefixes = {p: None for p in self.prefixes if p not in hard.prefixes}
        return out

    def bodies(self) -> list[dict[str, Any]]:
        """JSON bodies, each within every limit of the worker; as few as the limits allow."""
        if not self:
            return []
        if self.everything:
            bodies = [{"everything": True}]
        else:
            max_items = MAX_SOFT_ITEMS if self.soft else MAX_ITEMS
            bodies = split(list(self.tags.values()), list(self.urls), list(self.prefixes), max_items)
        if self.soft:
            for body in bodies:
                body["soft"] = True
        return bodies


def bodies_for(purges: list[Purge]) -> list[dict[str, Any]]:
    """The webhook bodies of several purges (one transaction's, or a sender's queue):
    the hard ones merged, then the soft ones less what a hard one covers. The same
    purges in the same order give the same bodies (the outbox relies on it)."""
    hard, soft = Purge(), Purge(soft=True)
    for p in purges:
        (soft if p.soft else hard).merge(p)
    return hard.bodies() + soft.without(hard).bodies()


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def split(tags: list[str], urls: list[str], prefixes: list[str], max_items: int = MAX_ITEMS) -> list[dict[str, Any]]:
    caps = {"tags": MAX_TAGS, "urls": MAX_URLS, "prefixes": MAX_PREFIXES}
    # An upper bound of the encoded size: `{"tags":[],"urls":[],"prefixes":[],"soft":true}`
    # plus each item's JSON and a comma; exact enough to stay under 64 KiB.
    empty = len(encode({"tags": [], "urls": [], "prefixes": [], "soft": True}))
    bodies: list[dict[str, Any]] = []
    cur: dict[str, list[str]] = {"tags": [], "urls": [], "prefixes": []}
    size, count = empty, 0
    for kind, items in (("tags", tags), ("urls", urls), ("prefixes", prefixes)):
        for item in items:
            cost = len(json.dumps(item).encode()) + 1
            if count and (len(cur[kind]) >= caps[kind] or count >= max_items or size + cost > MAX_BODY_BYTES):
                bodies.append({k: v for k, v in cur.items() if v})
                cur = {"tags": [], "urls": [], "prefixes": []}
                size, count = empty, 0
            cur[kind].append(item)
            size += cost
            count += 1
    if count:
        bodies.append({k: v for k, v in cur.items() if v})
    return bodies
