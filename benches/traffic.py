#!/usr/bin/env python3
"""Seeded traffic generator: a combined-format access log for an API behind a CDN.

Deterministic: the same --seed and --requests give the same file, byte for byte
(Python's `random.Random` is a fixed Mersenne Twister; no clock or hash-order
input). The mix models the Django REST Framework course catalogue of
examples/django (routes in wrangler.toml) as browser and app clients hit it; every
share below is written down in BENCHMARKS.md ("Traffic mix").

Authenticated requests are marked the way Apache marks HTTP-authenticated ones:
the authuser field (third field) holds a user name instead of `-`.
`edgecache simulate` treats such requests as uncacheable for every key function.

Usage: python3 benches/traffic.py [--seed 1] [--requests 200000] [--out FILE]
"""

import argparse
import bisect
import itertools
import sys

import random

START = 1_772_442_000  # 2026-03-02 09:00:00 UTC
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

# Route shares (of all requests).
SHARE_LIST = 0.42
SHARE_DETAIL = 0.34
SHARE_MEDIA = 0.16
SHARE_ME = 0.08  # always authenticated
AUTH_SHARE_BROWSE = 0.10  # logged-in users on list/detail/media

COURSES = 5_000
IMAGES = 20_000
SEARCH_TERMS = 400
PAGES = 40
LEVELS = ["beginner", "intermediate", "advanced"]
TRACKING_SOURCES = ["newsletter", "twitter", "facebook", "google", "partner"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "okhttp/4.12.0",
    "CourseApp/3.2 (iOS 17.4)",
]


class Zipf:
    """Ranks 1..n with P(k) proportional to 1/k^s (inverse CDF by bisection)."""

    def __init__(self, n, s):
        self.cdf = list(itertools.accumulate(1.0 / k**s for k in range(1, n + 1)))

    def sample(self, rng):
        return bisect.bisect_left(self.cdf, rng.random() * self.cdf[-1]) + 1


def case_variant(rng, value):
    """15% of enumerated values arrive in another letter case (hand-typed or old app builds)."""
    r = rng.random()
    if r < 0.08:
        return value.capitalize()
    if r < 0.15:
        return value.upper()
    return value


def tracking(rng):
    """Tracking params: 20% campaign links (utm_*), 6% ad/social click ids, each unique."""
    out = []
    r = rng.random()
    if r < 0.20:
        src = rng.choice(TRACKING_SOURCES)
        out += [("utm_source", src), ("utm_medium", "email" if src == "newsletter" else "social"),
                ("utm_campaign", f"spring{rng.randint(1, 6)}")]
    elif r < 0.26:
        out.append((rng.choice(["fbclid", "gclid"]), "%016x" % rng.getrandbits(64)))
    return out


def course_list(rng, z):
    params = []
    if rng.random() < 0.55:
        params.append(("level", case_variant(rng, rng.choice(LEVELS))))
    if rng.random() < 0.30:
        params.append(("search", f"term{z['search'].sample(rng)}"))
    page = z["page"].sample(rng)
    if page > 1 or rng.random() < 0.35:  # 35% of first-page links spell out page=1
        params.append(("page", str(page)))
    r = rng.random()
    if r < 0.20:
        params.append(("perpage", "10"))  # the maximum (and the default page size)
    elif r < 0.38:
        params.append(("perpage", rng.choice(["20", "25", "50", "100"])))  # over the max of 10
    if rng.random() < 0.05:
        params.append(("course_start_date", f"2026-0{rng.randint(3, 9)}-01"))
    if rng.random() < 0.03:  # repeated parameter (a front-end bug appends the filter twice)
        lv = [p for p in params if p[0] == "level"]
        if lv:
            params.append(lv[0])
    if rng.random() < 0.04:  # jQuery-style cache buster
        params.append(("_", str(1772442000000 + rng.getrandbits(24))))
    return "/api/courses/", params


def course_detail(rng, z):
    params = []
    if rng.random() < 0.05:
        params.append(("format", "json"))
    return f"/api/courses/{z['course'].sample(rng)}/", params


def media(rng, z):
    img = z["image"].sample(rng)
    params = []
    if rng.random() < 0.30:
        params.append(("w", rng.choice(["320", "640", "1280"])))
    return f"/media/courses/{img}/cover.jpg", params


def build(rng, path, params, browse):
    if browse:
        params = params + tracking(rng)
        if len(params) > 1 and rng.random() < 0.50:  # clients order params their own way
            rng.shuffle(params)
    query = "&".join(f"{k}={v}" for k, v in params)
    return path + ("?" + query if query else "")


def clf_time(t):
    days, rem = divmod(t, 86400)
    # civil_from_days (H. Hinnant)
    z = days + 719468
    era, doe = divmod(z, 146097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return f"{d:02d}/{MONTHS[m - 1]}/{y}:{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d} +0000"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=30.0, help="mean requests per second")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    z = {
        "course": Zipf(COURSES, 1.0),
        "image": Zipf(IMAGES, 0.9),
        "search": Zipf(SEARCH_TERMS, 1.0),
        "page": Zipf(PAGES, 1.5),
    }
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="ascii")
    t = float(START)
    for _ in range(a.requests):
        t += rng.expovariate(a.rate)
        r = rng.random()
        user = "-"
        if r < SHARE_ME:
            target = "/api/me/"
            user = f"user{rng.randint(1, 3000)}"
        else:
            if r < SHARE_ME + SHARE_LIST:
                path, params = course_list(rng, z)
            elif r < SHARE_ME + SHARE_LIST + SHARE_DETAIL:
                path, params = course_detail(rng, z)
            else:
                path, params = media(rng, z)
            target = build(rng, path, params, browse=True)
            if rng.random() < AUTH_SHARE_BROWSE:
                user = f"user{rng.randint(1, 3000)}"
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        size = rng.randint(400, 60000)
        out.write(f'{ip} - {user} [{clf_time(int(t))}] "GET {target} HTTP/1.1" 200 {size} '
                  f'"-" "{rng.choice(AGENTS)}"\n')
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
