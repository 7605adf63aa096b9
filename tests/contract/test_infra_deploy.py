"""`make deploy-infra` against the emulator: the stack comes up and its outputs land in the stage's config."""

import json
import shutil
from pathlib import Path

from infra import deploy

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_writes_outputs_and_secret_parameter_into_the_stage(tmp_path, endpoint, clients, monkeypatch):
    config = tmp_path / "config.json"
    shutil.copy(ROOT / ".chalice" / "config.json", config)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert deploy.main(["--stage", "qa", "--endpoint-url", endpoint, "--config", str(config), "--no-cdn"]) == 0
    env = json.loads(config.read_text())["stages"]["qa"]["environment_variables"]
    assert env["KALEXO_STAGE"] == "qa"
    assert env["KALEXO_MAIN_TABLE"] == "kalexo-qa-main"
    assert env["KALEXO_DOCUMENTS_BUCKET"] == "kalexo-qa-documents-123456789012"
    assert env["KALEXO_UPLOADS_QUEUE"] == "kalexo-qa-uploads"
    parameter = clients["ssm"].get_parameter(Name=env["KALEXO_JWT_SECRET_PARAMETER"], WithDecryption=True)
    assert len(parameter["Parameter"]["Value"]) >= 48
    # Deploying again changes nothing and keeps the same secret.
    assert deploy.main(["--stage", "qa", "--endpoint-url", endpoint, "--config", str(config), "--no-cdn"]) == 0
    again = clients["ssm"].get_parameter(Name=env["KALEXO_JWT_SECRET_PARAMETER"], WithDecryption=True)
    assert again["Parameter"]["Value"] == parameter["Parameter"]["Value"]
    # The other stages are untouched.
    original = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["dev"]
    assert json.loads(config.read_text())["stages"]["dev"] == original
