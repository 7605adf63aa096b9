"""`chalice deploy` validates the app before its first AWS call (chalice.deploy.validate); `chalice package`
and the local servers do not, so a route that breaks that validation passed everything else and failed the
first real deploy (content types mixing binary and text). The same validation, for every stage."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.iam_code import REGION, ROOT, STAGES, stage_config

_VALIDATE = """
import json, sys
from chalice.config import Config
from chalice.deploy.validate import validate_configuration
import app
stage = sys.argv[1]
config = Config(chalice_stage=stage, user_provided_params={"chalice_app": app.app, "project_dir": "."},
                config_from_disk=json.load(open(".chalice/config.json")))
validate_configuration(config)
print("valid")
"""


@pytest.mark.parametrize("stage", STAGES)
def test_chalice_deploy_validation_passes(stage: str) -> None:
    env = {**stage_config(stage)["environment_variables"], "KALEXO_JWT_SECRET": "x", "PATH": os.environ["PATH"],
           "AWS_DEFAULT_REGION": REGION}
    result = subprocess.run([sys.executable, "-c", _VALIDATE, stage], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("valid"), result.stderr[-2000:]
