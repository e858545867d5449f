"""The `EDGECACHE` setting: read once per use, validated into a `Config`.

    EDGECACHE = {
        "PURGE_URL": "https://api.example.com/__edgecache/purge",  # None or "": purging off (warning W001)
        "SECRET": "whsec_...",            # or "SECRETS": ["whsec_new", "whsec_old"] while rotating
        "TIMEOUT": 10.0,                  # seconds: the whole delivery, every retry included
        "RETRIES": 3,                     # retries after the first attempt (429, 5xx, network errors)
        "ASYNC": "thread",                # "thread" | "sync" | a callable or dotted path (task queue hook)
        "OUTBOX": False,                  # True: durable: a row in the change's transaction, retried until acknowledged
        "EXIT_TIMEOUT": 5.0,              # seconds the exit hook may spend delivering what is pending
        "QUEUE_LIMIT": 10000,             # items the in-memory queue holds before it becomes one purge of everything
        "SOFT_PURGE": False,              # True: purges mark entries stale instead of gone (docs/purge.md)
    }

Every problem is a `Problem` with a check id (`edgecache.E001`...) and a hint; the
system check framework reports them (`checks.py`) and `load()` raises on the first
error, so a misconfigured project fails loudly instead of skipping purges.
"""
from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

KNOWN_KEYS = ("PURGE_URL", "SECRET", "SECRETS", "TIMEOUT", "RETRIES", "ASYNC", "OUTBOX", "EXIT_TIMEOUT",
              "QUEUE_LIMIT", "SOFT_PURGE")
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
MAX_RETRIES = 10
DEFAULT_EXIT_TIMEOUT = 5.0
DEFAULT_QUEUE_LIMIT = 10_000
# The worker refuses HMAC keys shorter than this (docs/purge.md, "Secrets and rotation").
MIN_SECRET_BYTES = 16

Mode = Literal["thread", "sync"] | Callable[[dict[str, Any]], object]


@dataclass(frozen=True)
class Problem:
    id: str  # "edgecache.E003"
    level: Literal["error", "warning", "info"]
    msg: str
    hint: str


@dataclass(frozen=True)
class Config:
    purge_url: str | None  # None: purging is off (W001 says so)
    secrets: tuple[str, ...]
    timeout: float
    retries: int
    mode: Mode
    soft: bool = False  # SOFT_PURGE: the default of purge(soft=...)
    outbox: bool = False  # OUTBOX: purges are rows written in the change's transaction
    exit_timeout: float = DEFAULT_EXIT_TIMEOUT
    queue_limit: int = DEFAULT_QUEUE_LIMIT

    def describe(self) -> str:
        """Which delivery mode is on, and what it guarantees (the I001 check says it)."""
        if self.outbox:
            how = "inside the commit hook" if self.mode == "sync" else "by the background sender"
            return (f"purge delivery: OUTBOX (durable). Each change's purge is a row written in its own transaction, "
                    f"sent {how} and retried with backoff until the worker acknowledges it; rows a killed process "
                    f"left are sent by the next process's sender or by `manage.py edgecache_deliver`.")
        if self.mode == "thread":
            return (f"purge delivery: in memory, by one background sender (ASYNC='thread'); at exit it delivers what "
                    f"is pending for up to {self.exit_timeout:g}s. A process killed before that loses its pending "
                    f"purges.")
        if self.mode == "sync":
            return ("purge delivery: in memory, inside the commit hook (ASYNC='sync'); a purge that fails for longer "
                    "than TIMEOUT, or a process killed right after the commit, loses it.")
        return "purge delivery: handed to the task-queue hook EDGECACHE['ASYNC'] after the commit."


def _err(n: int, msg: str, hint: str) -> Problem:
    return Problem(f"edgecache.E{n:03d}", "error", msg, hint)


def secret_key(secret: str) -> bytes:
    """`whsec_<base64>` (prefix optional) -> the HMAC key bytes; ValueError when malformed."""
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64 after whsec_ ({exc})") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"decodes to {len(key)} bytes; the worker needs at least {MIN_SECRET_BYTES}")
    return key


def _secrets(raw: dict[str, Any], out: list[Problem]) -> tuple[str, ...]:
    has_one, has_many = "SECRET" in raw, "SECRETS" in raw
    if has_one and has_many:
        out.append(_err(4, "EDGECACHE has both SECRET and SECRETS.",
                        'Keep one: "SECRETS": ["whsec_new", "whsec_old"] while rotating, else "SECRET".'))
        return ()
    if has_many:
        value = raw["SECRETS"]
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
            out.append(_err(5, f"EDGECACHE['SECRETS'] must be a non-empty list of whsec_ secrets, got {value!r}.",
                            'Write "SECRETS": ["whsec_..."], or use "SECRET": "whsec_..." for one.'))
            return ()
        secrets = list(value)
    elif has_one:
        secrets = [raw["SECRET"]]
    else:
        out.append(_err(4, "EDGECACHE has a PURGE_URL but no SECRET (or SECRETS).",
                        "Set it to the worker's EDGECACHE_WEBHOOK_SECRET (whsec_...), e.g. from the environment."))
        return ()
    for i, secret in enumerate(secrets):
        where = "SECRET" if has_one else f"SECRETS[{i}]"
        if not isinstance(secret, str) or not secret:
            out.append(_err(5, f"EDGECACHE['{where}'] must be a non-empty string, got {secret!r}.",
                            "The secret is whsec_ followed by base64; an unset environment variable reads as ''."))
            continue
        try:
            secret_key(secret)
        except ValueError as exc:
            out.append(_err(5, f"EDGECACHE['{where}'] is malformed: {exc}.",
                            "Make one with: python -c \"import base64,os; "
                            "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""))
    return tuple(s for s in secrets if isinstance(s, str))


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problems(url: str, out: list[Problem]) -> None:
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        out.append(Problem("edgecache.W002", "warning",
                           f"EDGECACHE['PURGE_URL'] = {url!r} is plain http to a host that is not loopback.",
                           "Use https://: purges would cross the network in clear text, and a site that redirects "
                           "http to https (Cloudflare's \"Always Use HTTPS\") answers every purge with a redirect, "
                           "which the package does not follow (a 3xx is reported as a configuration error)."))


def _number(raw: dict[str, Any], key: str, default: float, low: float, high: float, n: int, hint: str,
            out: list[Problem], *, whole: bool = False) -> Any:
    value = raw.get(key, default)
    kind = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        out.append(_err(n, f"EDGECACHE['{key}'] must be {what} in [{low:g}, {high:g}], got {value!r}.", hint))
        return default
    return value


def _mode(value: Any, out: list[Problem]) -> Mode:
    if value in ("thread", "sync"):
        return value  # type: ignore[no-any-return]
    if callable(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str) and "." in value:
        try:
            hook = import_string(value)
        except ImportError as exc:
            out.append(_err(8, f"EDGECACHE['ASYNC'] = {value!r} cannot be imported: {exc}.",
                            "Name a callable taking one message dict (it should call edgecache_django.deliver_message)."))
            return "thread"
        if callable(hook):
            return hook  # type: ignore[no-any-return]
    out.append(_err(8, f"EDGECACHE['ASYNC'] must be 'thread', 'sync', a callable or its dotted path, got {value!r}.",
                    "'thread' sends from a background thread (default); 'sync' inside the commit hook; "
                    "a task-queue hook receives the message and calls edgecache_django.deliver_message."))
    return "thread"


def problems(raw: Any = None, *, configured: bool | None = None) -> tuple[Config | None, list[Problem]]:
    """Validate `raw` (default: settings.EDGECACHE). Returns the config (None if unusable) and every problem."""
    if configured is None:
        configured = hasattr(settings, "EDGECACHE")
    if raw is None and configured:
        raw = getattr(settings, "EDGECACHE")
    out: list[Problem] = []
    if not configured:
        return None, [_err(1, "The EDGECACHE setting is missing.",
                           'Add EDGECACHE = {"PURGE_URL": ..., "SECRET": ...} to settings; '
                           '"PURGE_URL": None turns purging off (with warning edgecache.W001).')]
    if not isinstance(raw, dict):
        return None, [_err(2, f"EDGECACHE must be a dict, got {type(raw).__name__}.",
                           'EDGECACHE = {"PURGE_URL": ..., "SECRET": ...}')]
    for key in raw:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            out.append(_err(2, f"EDGECACHE has an unknown key {key!r}.",
                            f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(KNOWN_KEYS)}."))
    if "PURGE_URL" not in raw:
        out.append(_err(3, "EDGECACHE has no PURGE_URL.",
                        "The worker's webhook, https://<your API host>/__edgecache/purge; None turns purging off."))
        url = None
    else:
        url = raw["PURGE_URL"]
        if url in (None, ""):
            out.append(Problem("edgecache.W001", "warning",
                               "EDGECACHE['PURGE_URL'] is empty: model changes will NOT purge the edge cache.",
                               "Set it to https://<your API host>/__edgecache/purge (fine for tests and local runs)."))
            url = None
        elif not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            out.append(_err(3, f"EDGECACHE['PURGE_URL'] must be an absolute http(s) URL, got {url!r}.",
                            "e.g. https://api.example.com/__edgecache/purge"))
            url = None
        else:
            _url_problems(url, out)
    secrets = _secrets(raw, out) if url is not None else ()
    timeout = raw.get("TIMEOUT", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        out.append(_err(6, f"EDGECACHE['TIMEOUT'] must be a number of seconds in (0, 300], got {timeout!r}.",
                        "The longest one delivery (every retry included) may take; 10 is the default."))
        timeout = DEFAULT_TIMEOUT
    retries = raw.get("RETRIES", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        out.append(_err(7, f"EDGECACHE['RETRIES'] must be a whole number 0..{MAX_RETRIES}, got {retries!r}.",
                        "Retries after the first attempt; 3 is the default."))
        retries = DEFAULT_RETRIES
    mode = _mode(raw.get("ASYNC", "thread"), out)
    soft = raw.get("SOFT_PURGE", False)
    if not isinstance(soft, bool):
        out.append(_err(9, f"EDGECACHE['SOFT_PURGE'] must be True or False, got {soft!r}.",
                        "False (the default): purged entries are gone; True: they are marked stale and "
                        "served only inside each route's stale windows while they revalidate."))
        soft = False
    outbox = raw.get("OUTBOX", False)
    if not isinstance(outbox, bool):
        out.append(_err(11, f"EDGECACHE['OUTBOX'] must be True or False, got {outbox!r}.",
                        "True (production): purges are written in the change's transaction and retried until "
                        "acknowledged; needs `manage.py migrate`."))
        outbox = False
    elif outbox and mode not in ("thread", "sync"):
        out.append(_err(11, "EDGECACHE['OUTBOX'] is True with a task-queue hook in ASYNC: choose one.",
                        "The outbox is a durable queue of its own, delivered by the package's sender (ASYNC "
                        "'thread') or in the commit hook (ASYNC 'sync'); a hook is called after the commit, "
                        "so a process killed in between loses the purge."))
    exit_timeout = _number(raw, "EXIT_TIMEOUT", DEFAULT_EXIT_TIMEOUT, 0, 300, 12,
                           "Seconds the exit hook may spend delivering pending purges; 5 is the default, 0 skips.", out)
    queue_limit = _number(raw, "QUEUE_LIMIT", DEFAULT_QUEUE_LIMIT, 1, 1_000_000, 13,
                          "Items (tags, URLs, prefixes) the sender's queue holds before it sends one purge of "
                          "everything instead; 10000 is the default.", out, whole=True)
    if any(p.level == "error" for p in out):
        return None, out
    config = Config(url, secrets, float(timeout), retries, mode, soft, outbox, float(exit_timeout), queue_limit)
    if url is not None:
        out.append(Problem("edgecache.I001", "info", config.describe(),
                           "OUTBOX = True is the durable mode for production (docs/django.md, \"Delivery\")."
                           if not outbox else "Run `manage.py edgecache_deliver` after a crash, or from cron."))
    return config, out


def load() -> Config:
    """The validated config; ImproperlyConfigured naming the first error (`manage.py check` lists all)."""
    config, found = problems()
    errors = [p for p in found if p.level == "error"]
    if config is None or errors:
        first = errors[0]
        raise ImproperlyConfigured(f"{first.id}: {first.msg} {first.hint}")
    return config
