"""deploy/backup/provision-s3.sh (issue 12): the bucket enforces the retention; the backup key cannot delete.

* Against a real S3 server (TEST_S3_ENDPOINT: moto in `make test`, or MinIO): the script creates the
  bucket and sets its lifecycle rule (objects under postgres/ expire after 30 days), read back through
  the S3 API. The script's `aws` calls go to the AWS CLI where it is installed, and always to a small
  stand-in that runs the same s3api calls through boto3 (the CLI is not a project dependency).
* Moto does not enforce IAM policies on S3, so the policy documents are checked as documents: the
  writer may put objects under the prefix and nothing else (no DeleteObject, no lifecycle, no listing).
* With MinIO's client (S3_CLI=mc) the script creates the policies and users with `mc admin`: a stand-in
  `mc` records those calls and the documents they pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup"
SCRIPT = BACKUP / "provision-s3.sh"
BUCKET, PREFIX = "beauty-academy-backups", "postgres"

# The AWS CLI calls provision-s3.sh makes (lib.sh), run through boto3 against the same endpoint.
AWS_VIA_BOTO3 = r"""
import json, os, sys
import boto3, botocore.exceptions

args = sys.argv[1:]
endpoint = None
if args[0] == "--endpoint-url":
    endpoint, args = args[1], args[2:]
s3 = boto3.client("s3", endpoint_url=endpoint)
option = lambda name: args[args.index(name) + 1]
if args[:2] == ["s3api", "head-bucket"]:
    try:
        s3.head_bucket(Bucket=option("--bucket"))
    except botocore.exceptions.ClientError as exc:
        sys.exit(str(exc))
elif args[:2] == ["s3", "mb"]:
    s3.create_bucket(Bucket=args[2].removeprefix("s3://"))
elif args[:2] == ["s3api", "put-bucket-lifecycle-configuration"]:
    with open(option("--lifecycle-configuration").removeprefix("file://")) as f:
        s3.put_bucket_lifecycle_configuration(Bucket=option("--bucket"), LifecycleConfiguration=json.load(f))
else:
    sys.exit("unexpected aws call: " + " ".join(args))
"""

FAKE_MC = r"""
import os, pathlib, shutil, sys

args = [a for a in sys.argv[1:] if a not in ("--quiet", "--no-color")]
if args[0] == "--config-dir":
    args = args[2:]
log = pathlib.Path(os.environ["FAKE_LOG"])
with log.open("a") as f:
    f.write(" ".join(args) + "\n")
if args[:3] == ["admin", "policy", "create"]:
    shutil.copy(args[-1], pathlib.Path(os.environ["FAKE_DOCS"]) / (args[-2] + ".json"))
elif args[:2] == ["ilm", "import"]:
    (pathlib.Path(os.environ["FAKE_DOCS"]) / "lifecycle.json").write_text(sys.stdin.read())
elif args[0] in ("alias", "mb", "admin"):
    pass
else:
    sys.exit("unexpected mc call: " + " ".join(args))
"""


def _stub(bin_dir: Path, name: str, program: str) -> None:
    source = bin_dir.parent / f"{name}.py"
    source.write_text(textwrap.dedent(program), encoding="utf-8")
    stub = bin_dir / name
    stub.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{source}" "$@"\n', encoding="utf-8")
    stub.chmod(0o755)


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False)


def _policy(name: str, bucket: str = BUCKET, prefix: str = PREFIX) -> dict[str, Any]:
    """A policy document as provision-s3.sh renders it."""
    text = (BACKUP / "s3" / f"backup-{name}-policy.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text.replace("BACKUP_BUCKET", bucket).replace("BACKUP_PREFIX", prefix))
    return document


def _allowed(document: dict[str, Any]) -> dict[str, set[str]]:
    """Action -> the resources it is allowed on (every statement Allow; no Deny, no NotAction)."""
    allowed: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
            allowed.setdefault(action, set()).update(resources)
    return allowed


def test_the_writer_may_upload_dumps_and_nothing_else() -> None:
    allowed = _allowed(_policy("writer"))
    assert set(allowed) == {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:GetBucketLocation",
        "s3:ListBucketMultipartUploads",
    }
    assert not {a for a in allowed if a.startswith("s3:Delete")}, "a stolen backup key must not erase the backups"
    assert not {a for a in allowed if "Lifecycle" in a or "Policy" in a}, "nor shorten their retention"
    assert allowed["s3:PutObject"] == {f"arn:aws:s3:::{BUCKET}/{PREFIX}/*"}
    assert allowed["s3:GetBucketLocation"] == {f"arn:aws:s3:::{BUCKET}"}


def test_the_reader_may_list_and_read_dumps_only() -> None:
    document = _policy("reader")
    allowed = _allowed(document)
    assert set(allowed) == {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    assert allowed["s3:GetObject"] == {f"arn:aws:s3:::{BUCKET}/{PREFIX}/*"}
    (listing,) = [s for s in document["Statement"] if "s3:ListBucket" in s["Action"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}/*"]}}


def test_the_lifecycle_template_expires_the_prefix_after_thirty_days() -> None:
    """ARCHITECTURE.md: backups are kept 30 days."""
    (rule,) = json.loads((BACKUP / "s3" / "lifecycle.json").read_text(encoding="utf-8"))["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Filter"] == {"Prefix": "BACKUP_PREFIX/"}
    assert rule["Expiration"] == {"Days": 30}


S3_CLIENTS = ["boto3-stand-in", "aws-cli"]


@pytest.mark.skipif(not os.environ.get("TEST_S3_ENDPOINT"), reason="needs an S3 server (TEST_S3_ENDPOINT)")
@pytest.mark.parametrize("client", S3_CLIENTS)
def test_provisioning_sets_the_lifecycle_rule_on_a_real_s3_server(tmp_path: Path, client: str) -> None:
    endpoint = f"http://{os.environ['TEST_S3_ENDPOINT']}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if client == "aws-cli":
        if not (aws := shutil.which("aws")):
            pytest.skip("the AWS CLI is not installed")
        (bin_dir / "aws").symlink_to(aws)
    else:
        _stub(bin_dir, "aws", AWS_VIA_BOTO3)
    bucket = f"academy-backups-{uuid.uuid4().hex[:12]}"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "S3_CLI": "aws",
        "S3_ENDPOINT": os.environ["TEST_S3_ENDPOINT"],
        "S3_ACCESS_KEY": "testing",
        "S3_SECRET_KEY": "testing",
        "S3_BUCKET": bucket,
        "S3_PREFIX": PREFIX,
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    try:
        result = _run(env)
        assert result.returncode == 0, result.stderr
        again = _run(env)  # idempotent: an upgrade runs it again
        assert again.returncode == 0, again.stderr

        (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert rule["Status"] == "Enabled"
        assert rule["Filter"] == {"Prefix": f"{PREFIX}/"}
        assert rule["Expiration"] == {"Days": 30}
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
        assert "objects expire after 30 days" in result.stderr
    finally:
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


def test_provisioning_on_minio_creates_the_writer_and_reader_with_their_policies(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "mc", FAKE_MC)
    docs = tmp_path / "docs"
    docs.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "FAKE_LOG": str(tmp_path / "mc.log"),
        "FAKE_DOCS": str(docs),
        "S3_CLI": "mc",
        "S3_ENDPOINT": "minio:9000",
        "S3_ACCESS_KEY": "admin",
        "S3_SECRET_KEY": "admin-secret",
        "S3_BUCKET": "academy-offsite",
        "S3_PREFIX": "pg",
        "BACKUP_WRITER_ACCESS_KEY": "backup-writer",
        "BACKUP_WRITER_SECRET_KEY": "writer-secret",
        "BACKUP_READER_ACCESS_KEY": "backup-reader",
        "BACKUP_READER_SECRET_KEY": "reader-secret",
    }

    result = _run(env)

    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "mc.log").read_text(encoding="utf-8").splitlines()
    assert "mb --ignore-existing academy-backup/academy-offsite" in calls
    assert "ilm import academy-backup/academy-offsite" in calls
    for role, key, secret in (
        ("writer", "backup-writer", "writer-secret"),
        ("reader", "backup-reader", "reader-secret"),
    ):
        create = calls.index(
            next(c for c in calls if c.startswith(f"admin policy create academy-backup academy-backup-{role} "))
        )
        add = calls.index(f"admin user add academy-backup {key} {secret}")
        attach = calls.index(f"admin policy attach academy-backup academy-backup-{role} --user {key}")
        assert create < add < attach
        passed = json.loads((docs / f"academy-backup-{role}.json").read_text(encoding="utf-8"))
        assert passed == _policy(role, "academy-offsite", "pg"), "the shipped document, for this bucket and prefix"
    (rule,) = json.loads((docs / "lifecycle.json").read_text(encoding="utf-8"))["Rules"]
    assert rule["Filter"] == {"Prefix": "pg/"}

    missing = _run({**env, "BACKUP_READER_SECRET_KEY": ""})
    assert missing.returncode != 0
    assert "reader's access and secret keys are required" in missing.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("S3_BUCKET", "Bad|Bucket"), ("S3_PREFIX", "a|b"), ("RETENTION_DAYS", "0")]
)
def test_provisioning_refuses_unsafe_settings(tmp_path: Path, name: str, value: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "aws", "import sys; sys.exit('no call expected')")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "S3_BUCKET": "b",
        name: value,
    }
    result = _run(env)
    assert result.returncode != 0
    assert re.search(r"unsafe|RETENTION_DAYS", result.stderr), result.stderr
