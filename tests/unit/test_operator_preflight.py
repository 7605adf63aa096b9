"""The operator commands say what AWS configuration is missing in one line, before their first AWS call
(infra/aws_session.py): a fresh clone's `make deploy` without a region or credentials ended in a botocore
traceback. Run as a user runs them, in a child process with no AWS configuration at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    ("infra.deploy", ["--stage", "dev"], "make deploy STAGE=dev"),
    ("infra.deploy", ["--stage", "dev", "--urls"], "make urls STAGE=dev"),
    ("infra.admin", ["--stage", "dev", "--email", "ops@example.com"], "make admin STAGE=dev"),
    ("infra.destroy", ["--stage", "dev"], "make destroy STAGE=dev"),
]


def _bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true", **extra}


def _run(module: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("module", "args", "named"), COMMANDS, ids=[c[2] for c in COMMANDS])
def test_no_region_and_no_credentials_are_named_in_one_line(tmp_path: Path, module: str, args: list[str],
                                                           named: str) -> None:
    result = _run(module, args, _bare_env(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{named}: "), result.stderr
    assert "no AWS region" in lines[0] and "no AWS credentials" in lines[0]


def test_with_a_region_only_the_credentials_are_missing(tmp_path: Path) -> None:
    result = _run("infra.deploy", ["--stage", "dev", "--urls"], _bare_env(tmp_path, AWS_DEFAULT_REGION="eu-west-1"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "no AWS credentials" in result.stderr and "no AWS region" not in result.stderr


def test_a_profile_that_does_not_exist_is_named(tmp_path: Path) -> None:
    result = _run("infra.deploy", ["--stage", "dev"], _bare_env(tmp_path, AWS_PROFILE="nope"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "nope" in result.stderr and result.stderr.startswith("make deploy STAGE=dev: "), result.stderr
