"""Sets up a private bucket on a moto server (tests/e2e/s3.mjs runs this):
an IAM user allowed s3:GetObject on it and nothing else, its access key, the
bucket and the objects named on stdin; then turns authentication on, so
from here every request must carry a valid SigV4 signature of a known key.

stdin: {"bucket": NAME, "objects": [{"key", "content_type", "text" | "pattern_bytes" | "file"}]}
stdout: {"access_key_id", "secret_access_key"}
"""

import json
import sys
import urllib.request

import botocore.session

PERIOD = 251  # byte i of a pattern object is i % 251 (as the tests compute it)


def pattern(n):
    one = bytes(range(PERIOD))
    return (one * (n // PERIOD + 1))[:n]


def main():
    endpoint = sys.argv[1]
    spec = json.load(sys.stdin)
    bucket = spec["bucket"]
    session = botocore.session.get_session()
    kw = dict(region_name="us-east-1", endpoint_url=endpoint,
              aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = session.create_client("iam", **kw)
    s3 = session.create_client("s3", **kw)
    iam.create_user(UserName="edgecache")
    key = iam.create_access_key(UserName="edgecache")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    iam.put_user_policy(UserName="edgecache", PolicyName="read-media",
                        PolicyDocument=json.dumps(policy))
    s3.create_bucket(Bucket=bucket)
    for o in spec["objects"]:
        if "text" in o:
            body = o["text"].encode()
        elif "file" in o:
            with open(o["file"], "rb") as f:
                body = f.read()
        else:
            body = pattern(o["pattern_bytes"])
        s3.put_object(Bucket=bucket, Key=o["key"], Body=body, ContentType=o["content_type"],
                      Metadata={"owner": "setup"})
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()
    json.dump({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}, sys.stdout)


if __name__ == "__main__":
    main()
