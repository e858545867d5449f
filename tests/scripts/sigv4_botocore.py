"""Generates tests/fixtures/sigv4_botocore.json: S3 GetObject requests signed
by botocore's own S3 client (its key encoding, addressing style and SigV4
signer), captured before they are sent. tests/native/request/sigv4.rs builds the same
requests with edgecache's `request::s3::s3_get` and compares URL and
Authorization.

    .venv-s3/bin/python tests/scripts/sigv4_botocore.py [COUNT] > tests/fixtures/sigv4_botocore.json

Deterministic: a fixed seed, fixed credentials per case, a fixed clock.
"""

import datetime
import json
import random
import sys
from unittest import mock

import botocore
import botocore.auth
import botocore.session
from botocore.config import Config
from botocore.awsrequest import AWSResponse

# Key characters: unreserved, the ones S3 keys commonly carry (space, +, ~),
# sub-delims, and UTF-8 beyond ASCII. Never `?`, `#`, `;`, `%`, `\` or a
# control character: an edgecache route never names such a key (a
# suspicious path, docs/keys.md).
ALPHABET = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
ALPHABET += list(" +~-_.!$&'()*,=@:") + ["é", "ü", "日", "本", "🎥", "ß", "ø", "Ω"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "auto", "us-west-2"]


def segment(rng):
    while True:
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
        if s not in (".", ".."):
            return s


def case(rng, i):
    depth = rng.choice([1, 1, 2, 3, 5, 8, 12])
    key = "/".join(segment(rng) for _ in range(depth))
    style = rng.choice(["path", "virtual"])
    region = rng.choice(REGIONS)
    if rng.random() < 0.5:
        endpoint = f"http://127.0.0.1:{rng.randint(1024, 65535)}"
        style = "path"
    else:
        endpoint = f"https://s3.{region}.example.com"
    bucket = "b" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(rng.randint(2, 20))) + "z"
    akid = "AKID" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/") for _ in range(40))
    at = rng.randint(1_400_000_000, 2_000_000_000)
    validator = rng.choice([None, None, '"' + "%032x" % rng.getrandbits(128) + '"'])
    return dict(key=key, style=style, region=region, endpoint=endpoint, bucket=bucket,
                access_key_id=akid, secret_access_key=secret, at=at, if_none_match=validator)


def sign(c):
    session = botocore.session.get_session()
    client = session.create_client(
        "s3", region_name=c["region"], endpoint_url=c["endpoint"],
        aws_access_key_id=c["access_key_id"], aws_secret_access_key=c["secret_access_key"],
        # No x-amz-checksum-mode: edgecache asks for no checksum.
        config=Config(
            s3={"addressing_style": c["style"]},
            retries={"max_attempts": 0},
            response_checksum_validation="when_required",
        ),
    )
    seen = {}

    def capture(request, **_):
        seen["url"] = request.url
        seen["headers"] = {
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        r = AWSResponse(request.url, 200, {}, None)
        r._content = b""
        return r

    client.meta.events.register("before-send.s3.GetObject", capture)
    at = datetime.datetime.fromtimestamp(c["at"], datetime.timezone.utc).replace(tzinfo=None)
    args = {"Bucket": c["bucket"], "Key": c["key"]}
    if c["if_none_match"]:
        args["IfNoneMatch"] = c["if_none_match"]
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        try:
            client.get_object(**args)
        except Exception:
            pass  # the captured empty answer is no object: what was sent is in `seen`
    h = seen["headers"]
    out = dict(c)
    out.update(url=seen["url"], authorization=h["authorization"], amz_date=h["x-amz-date"],
               content_sha256=h["x-amz-content-sha256"])
    return out


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rng = random.Random(20261207)
    cases = [sign(case(rng, i)) for i in range(count)]
    json.dump({"botocore": botocore.__version__, "cases": cases}, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
