import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.settings import Settings, SettingsError
from infra.outputs import SETTING_FOR_OUTPUT
from local.template import StackContext, load_template, parameter_values

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "KALEXO_STAGE": "t", "KALEXO_MAIN_TABLE": "m", "KALEXO_CONNECTIONS_TABLE": "c", "KALEXO_OPS_TABLE": "o",
    "KALEXO_EVENTS_TABLE": "e", "KALEXO_DOCUMENTS_BUCKET": "d", "KALEXO_TILES_BUCKET": "tb",
    "KALEXO_UPLOADS_QUEUE": "u", "KALEXO_UPLOADS_DLQ": "ud", "KALEXO_TILES_QUEUE": "tq", "KALEXO_TILES_DLQ": "td",
    "KALEXO_FANOUT_QUEUE": "fq",
}


def test_settings_read_every_value():
    settings = Settings.from_env({**REQUIRED, "KALEXO_EVENT_SOURCE_HEARTBEATS": "true", "AWS_REGION": "eu-west-1"})
    assert settings.main_table == "m"
    assert settings.region == "eu-west-1"
    assert settings.event_source_heartbeats is True
    assert settings.websocket_endpoint is None


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_setting_is_named(missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_every_stage_in_config_sets_every_required_setting():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage, body in config["stages"].items():
        assert set(REQUIRED) <= set(body["environment_variables"]), stage
        assert (ROOT / ".chalice" / body["iam_policy_file"]).exists()


def test_every_setting_from_outputs_exists_in_the_template():
    template = load_template()
    assert set(SETTING_FOR_OUTPUT) <= set(template["Outputs"])
    assert set(SETTING_FOR_OUTPUT.values()) <= set(REQUIRED)


def test_intrinsics_resolve_against_the_stack():
    ctx = StackContext(parameters={"Stage": "dev"}, pseudo={"AWS::AccountId": "1"}, refs={"Q": "https://q"},
                       get_att=lambda logical, attr: f"arn:{logical}:{attr}")
    value = {"a": {"Fn::Sub": "kalexo-${Stage}-${AWS::AccountId}-${Q.Arn}"}, "b": [{"Ref": "Q"}],
             "c": {"Fn::GetAtt": ["Q", "Arn"]}, "d": {"Fn::Join": ["/", ["x", {"Ref": "Stage"}]]}}
    assert ctx.resolve(value) == {"a": "kalexo-dev-1-arn:Q:Arn", "b": ["https://q"], "c": "arn:Q:Arn", "d": "x/dev"}
    assert parameter_values({"Parameters": {"L": {"Type": "CommaDelimitedList", "Default": "a, b"}}}, {}) == \
        {"L": ["a", "b"]}


def test_importing_the_app_loads_neither_pymupdf_nor_pillow():
    code = ("import sys, app; bad = [m for m in ('fitz', 'pymupdf', 'PIL') if m in sys.modules]; "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**REQUIRED, "PATH": "/usr/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
