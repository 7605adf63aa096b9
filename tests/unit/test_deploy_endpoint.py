"""The websocket management endpoint make deploy gives every function: Chalice deploys the websocket API to the
REST API's stage (api_gateway_stage), so that is the stage in the URL; none before the API exists."""

from infra import stage_project

RECORD = {"resources": [{"resource_type": "rest_api", "rest_api_id": "rest1"},
                        {"resource_type": "websocket_api", "websocket_api_id": "abc123"}]}


def test_the_endpoint_uses_the_stage_chalice_deploys_to():
    stage = stage_project.api_gateway_stage({"stages": {"dev": {"api_gateway_stage": "v1"}}}, "dev")
    assert stage_project.websocket_management_endpoint(RECORD, "eu-west-1", stage) == \
        "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
    assert stage_project.api_gateway_stage({"stages": {"dev": {}}}, "dev") == "api"
    assert stage_project.api_gateway_stage({"api_gateway_stage": "top", "stages": {"dev": {}}}, "dev") == "top"


def test_no_endpoint_before_the_first_deploy():
    assert stage_project.websocket_management_endpoint({"resources": []}, "eu-west-1", "api") is None
    assert stage_project.websocket_management_endpoint({}, "eu-west-1", "api") is None
