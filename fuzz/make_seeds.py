#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from tests/fixtures/.

Re-run after changing a fixture: `python3 fuzz/make_seeds.py`. Seeds are small
and readable (each target's input format is text; see its doc comment).
"""
import json
import pathlib
import re
import shutil
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
OUT = ROOT / "fuzz" / "corpus"


def slug(s, n=50):
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")[:n] or "x"


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def keys():
    for case in json.loads((FIX / "keys.json").read_text()):
        lines = [case["url"]] + [f"{n}: {v}" for n, v in case.get("headers", [])]
        write("key_normalization", slug(case["name"]), "\n".join(lines))
    # Size limits (the target also runs a tight-limit config: 160 bytes, 6 params).
    write("key_normalization", "limit_six_params",
          "https://api.example.com/api/courses/?page=2&page=3&level=a&search=b&perpage=4&perpage=5")
    write("key_normalization", "limit_repeated_names_and_variant",
          "https://api.example.com/api/courses/?level=B&search=x&__edgecache=y&level=a\naccept-language: en")
    write("key_normalization", "per_user_cookie_and_auth",
          "https://api.example.com/api/me/?b=2&a=1\ncookie: sessionid=abc; other=1\nauthorization: Bearer t")


def configs():
    def edgecache(text, env=None):
        doc = tomllib.loads(text)
        root = doc["env"][env] if env else doc
        return root.get("vars", {}).get("EDGECACHE")

    fixture = (FIX / "wrangler.toml").read_text()
    write("config_parse", "fixture_top", json.dumps(edgecache(fixture), indent=1))
    write("config_parse", "fixture_staging", json.dumps(edgecache(fixture, "staging")))
    for path in sorted((FIX / "bad_configs").glob("*.toml")):
        try:
            value = edgecache(path.read_text())
        except Exception:
            continue
        if value is not None:
            write("config_parse", "bad_" + path.stem, json.dumps(value))
    write("config_parse", "not_object", "[1, 2]")
    write("config_parse", "minimal", '{"origin": "http://127.0.0.1:8000"}')


def purge():
    for i, (body, _status, msg) in enumerate(json.loads((FIX / "purge_body_errors.json").read_text())):
        write("purge_body", f"err_{i:02}_{slug(msg, 30)}", body)
    good = {
        "tags": {"tags": ["course:42", "course_list", "COURSE:42"]},
        "urls": {"urls": ["http://API.example.com/api/courses/?page=1&utm_source=x",
                          "https://api.example.com/api/courses/42/"]},
        "prefixes": {"prefixes": ["/api/courses", "/api/courses/", "https://api.example.com:8443/media/a/",
                                  "/"]},
        "everything": {"everything": True},
        "all_fields": {"tags": ["a"], "urls": ["https://h/x"], "prefixes": ["/x/y"], "everything": False},
        "nulls": {"tags": None, "urls": ["https://h/"], "prefixes": None, "everything": None},
    }
    for name, body in good.items():
        write("purge_body", "ok_" + name, json.dumps(body))


def signatures():
    for v in json.loads((FIX / "standard_webhooks_vectors.json").read_text()):
        head = [v["secret"], v["msg_id"], str(v["timestamp"]), v["signature"], str(v["timestamp"])]
        write("signature_header", "vector", "\n".join(head) + "\n" + v["payload"])
        rot = [v["secret"] + " whsec_" + "QUJD" * 8, v["msg_id"], str(v["timestamp"]),
               "v1a,abc v1,bad " + v["signature"], str(v["timestamp"] + 300)]
        write("signature_header", "vector_rotation", "\n".join(rot) + "\n" + v["payload"])
        old = [v["secret"], v["msg_id"], str(v["timestamp"]), v["signature"], str(v["timestamp"] + 301)]
        write("signature_header", "vector_too_old", "\n".join(old) + "\n" + v["payload"])
        write("signature_header", "missing_headers", v["secret"] + "\n\n\n\n\n" + v["payload"])
    sec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    more = {
        "empty_body": [sec, "msg_1", "1700000000", "v1,AAAA", "1700000000", ""],
        "secret_list_commas": [sec + ",whsec_" + "QUJD" * 8, "msg_1", "1700000000", "v1,x", "", "{}"],
        "short_secret": ["whsec_QUJD", "msg_1", "1700000000", "v1,x", "", "{}"],
        "not_base64_secret": ["whsec_***", "msg_1", "1700000000", "v1,x", "", "{}"],
        "id_with_space": [sec, "msg 1", "1700000000", "v1,x", "", "{}"],
        "id_too_long": [sec, "m" * 257, "1700000000", "v1,x", "", "{}"],
        "timestamp_too_new": [sec, "msg_1", "1700000301", "v1,x", "1700000000", "{}"],
        "timestamp_zero": [sec, "msg_1", "0", "v1,x", "0", "{}"],
        "timestamp_max": [sec, "msg_1", "9999999999999999999", "v1,x", "9999999999999999999", "{}"],
        "many_signatures": [sec, "msg_1", "1700000000", " ".join(["v1,AAAA"] * 20), "", "{}"],
        "signature_no_comma": [sec, "msg_1", "1700000000", "v1", "", "{}"],
        "purge_body": [sec, "msg_2", "1700000000", "v1,x", "", '{"tags": ["course:1"], "prefixes": ["/api/courses"]}'],
    }
    for name, parts in more.items():
        write("signature_header", name, "\n".join(parts))
    write("signature_header", "bad_timestamp", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nmsg_1\n+5\nv1,\n\n{}")
    write("signature_header", "bare_secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nmsg_1\n99999999999999999999\nv1,x\n0\n")


def http():
    for i, line in enumerate((FIX / "cache_control.txt").read_text().splitlines()):
        if line.startswith("#") or "=>" not in line:
            continue
        write("http_parsers", f"cc_{i:02}", "c" + line.rsplit(" => ", 1)[0])
    for i, line in enumerate((FIX / "httpdate.txt").read_text().splitlines()):
        if line.startswith("#") or "=>" not in line:
            continue
        write("http_parsers", f"date_{i:02}", "d" + line.rsplit(" => ", 1)[0])
    write("http_parsers", "date_leap_second", "dFri, 31 Dec 2027 23:59:60 GMT")
    for i, r in enumerate(["1000\nbytes=0-99", "1000\nbytes=-100", "1000\nbytes=900-", "0\nbytes=0-0",
                           "10\nbytes=5-2", "10\nbytes=0-1,3-4", "18446744073709551615\nbytes=0-",
                           "1000\nBYTES = 10 - 20", "1000\nitems=0-1"]):
        write("http_parsers", f"range_{i:02}", "r" + r)
    for i, s in enumerate(["1;1700000000123;a,a%2C1,b,sp%20ace,x%3By%25z", "1;0;", "1;05;", "1;5;b,a", "1;5;A"]):
        write("http_parsers", f"stamp_{i:02}", "s" + s)
    for i, s in enumerate(["v1;at=1700000000;ttl=900;swr=30;sie=0", "v1;at=01;ttl=1;swr=1;sie=1",
                           "v1;at=1;ttl=1;swr=1;sie=1;x=2"]):
        write("http_parsers", f"meta_{i:02}", "m" + s)
    write("http_parsers", "stamp_value", b"S" + bytes(range(64)))
    write("http_parsers", "meta_value", b"M" + bytes(range(40)))
    write("http_parsers", "date_value", b"D\xff\xff\xff\xff\xff\xff\xff\xff")


if __name__ == "__main__":
    if OUT.exists():
        shutil.rmtree(OUT)
    keys()
    configs()
    purge()
    signatures()
    http()
    for d in sorted(OUT.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")
