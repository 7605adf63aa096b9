"""The AWS session of the operator commands (make deploy, urls, admin, destroy), checked before their first
call: without a region or credentials botocore raises from deep inside the first client call, and the operator
got a traceback whose last line alone said what was missing. Here it is one line, with the fix, and status 2."""

from __future__ import annotations

import sys

import boto3
from botocore.exceptions import ProfileNotFound


def aws_session(command: str) -> boto3.session.Session:
    """A session with a region and credentials, or exit 2 saying which is missing and how to give it."""
    try:
        session = boto3.session.Session()
    except ProfileNotFound as exc:
        print(f"{command}: {exc} (aws configure --profile <name> makes one; or unset AWS_PROFILE)", file=sys.stderr)
        raise SystemExit(2) from None
    missing = []
    if not session.region_name:  # botocore reads AWS_DEFAULT_REGION, not AWS_REGION
        missing.append("no AWS region (set AWS_DEFAULT_REGION, or a region in your AWS profile: aws configure)")
    if session.get_credentials() is None:
        missing.append("no AWS credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY; against an emulator, its endpoint in AWS_ENDPOINT_URL and any keys)")
    if missing:
        print(f"{command}: {'; '.join(missing)}", file=sys.stderr)
        raise SystemExit(2)
    return session
