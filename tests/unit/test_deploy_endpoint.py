"""The websocket management endpoint written for workers after `chalice deploy`: Chalice deploys the websocket
API to the REST API's stage (api_gateway_stage), so that is the stage in the URL."""

import json

from infra import deploy


def test_the_endpoint_uses_the_stage_chalice_deploys_to(tmp_path, monkeypatch):
    project = tmp_path
    (project / ".chalice" / "deployed").mkdir(parents=True)
    (project / ".chalice" / "deployed" / "dev.json").write_text(json.dumps({"resources": [
        {"resource_type": "rest_api", "rest_api_id": "rest1"},
        {"resource_type": "websocket_api", "websocket_api_id": "abc123"}]}))
    config = project / ".chalice" / "config.json"
    config.write_text(json.dumps({"stages": {"dev": {"api_gateway_stage": "v1"}}}))
    monkeypatch.setattr(deploy, "PROJECT_DIR", project)
    assert deploy.websocket_endpoint("dev", "eu-west-1", config) == "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
    config.write_text(json.dumps({"stages": {"dev": {}}}))
    assert deploy.websocket_endpoint("dev", "eu-west-1", config).endswith("/api")
